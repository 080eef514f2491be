import AtriumSystem
import Glibc

/// Writing: what `writeBuffer` holds goes to the socket, and what the socket does not take
/// waits in the connection until epoll says there is room.
extension EventLoop {
    /// Sends what `writeBuffer` holds for this connection (after anything still pending).
    func flush(_ connection: Connection) {
        if !writeBuffer.isEmpty {
            if connection.hasPendingOutput {
                connection.pendingOutput.append(contentsOf: writeBuffer)
            } else {
                guard let written = writeBuffer.withUnsafeBytes({ sendAll(connection.fd, $0) }) else {
                    writeBuffer.removeAll(keepingCapacity: true)
                    abandonOutput(connection)
                    return
                }
                let left = written < writeBuffer.count
                if left {
                    connection.pendingOutput = Array(writeBuffer[written...])
                    connection.pendingOffset = 0
                }
                connection.state.wrote(written, outputLeft: left, at: now)
            }
            writeBuffer.removeAll(keepingCapacity: true)
        }
        if connection.hasPendingOutput { writePending(connection) }
        connection.stream?.setUnsent(connection.pendingOutput.count - connection.pendingOffset)
    }

    func writable(_ connection: Connection) {
        if connection.hasPendingOutput {
            writePending(connection)
            connection.stream?.setUnsent(connection.pendingOutput.count - connection.pendingOffset)
            finishIfDone(connection)
        }
    }

    private func writePending(_ connection: Connection) {
        let sent = connection.pendingOutput.withUnsafeBytes { raw in
            sendAll(connection.fd, UnsafeRawBufferPointer(rebasing: raw[connection.pendingOffset...]))
        }
        guard let written = sent else {
            abandonOutput(connection)
            return
        }
        connection.pendingOffset += written
        let left = connection.pendingOffset < connection.pendingOutput.count
        if !left {
            connection.pendingOutput = []
            connection.pendingOffset = 0
        }
        connection.state.wrote(written, outputLeft: left, at: now)
    }

    /// The socket is dead: drop what was to be sent and close once nothing else runs.
    private func abandonOutput(_ connection: Connection) {
        connection.pendingOutput = []
        connection.pendingOffset = 0
        connection.closeAfterWrite = true
        connection.peerClosed = true
        connection.state.wrote(0, outputLeft: false, at: now)
    }

    /// Writes until done or the socket is full; returns bytes written, nil on a dead socket.
    private func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return 0 }
        var offset = 0
        while offset < bytes.count {
            let result: IOResult<Int>
            do {
                result = try systemCall("send") { send(fd, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            } catch {
                return nil
            }
            switch result {
            case .processed(let count) where count > 0: offset += count
            case .processed: return nil
            case .wouldBlock: return offset
            }
        }
        return offset
    }
}
