import Glibc

/// Streaming responses (`HTTPResponse.stream`): the head goes out like any answer, then the
/// connection stays open with nothing to read and nothing timed as idle, and chunks pushed
/// through its `HTTPStream` arrive in the inbox and go out in order.
extension EventLoop {
    /// Sends a streaming response's head and first chunk, then hands its `HTTPStream` to the
    /// handler. No further request is read on the connection.
    func startStream(_ response: HTTPResponse, _ start: HTTPStreamStart, requestID: String, http10: Bool,
                     on connection: Connection) {
        let stream = HTTPStream(loop: self, fd: connection.fd, generation: connection.generation,
                                bufferLimit: shared.configuration.streamBufferBytes)
        connection.stream = stream
        connection.streamUnframed = http10
        // The kernel's send buffer is bounded like ours: a client that stops reading then costs
        // at most about twice the stream buffer before it is dropped, not megabytes of autotuning.
        var size = Int32(clamping: shared.configuration.streamBufferBytes)
        setsockopt(connection.fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        connection.state.streamStarted(at: now)
        ResponseEncoder.encodeStreamHead(response, requestID: requestID, dateLine: dateLine, unframed: http10,
                                         into: &writeBuffer)
        ResponseEncoder.encodeChunk(response.body, unframed: http10, into: &writeBuffer)
        if shuttingDown {
            endStream(connection)
            return
        }
        start.opened(stream)
    }

    /// A chunk, an end or a drop for the stream on `completion`'s connection.
    func streamPayload(_ payload: Completion.Payload, for completion: Completion) {
        guard let connection = connection(fd: completion.fd, generation: completion.generation),
              let stream = connection.stream else {
            return
        }
        switch payload {
        case .chunk(let bytes):
            stream.taken(bytes.count)
            let unsent = connection.pendingOutput.count - connection.pendingOffset
            guard unsent + bytes.count <= stream.bufferLimit else {
                closeConnection(connection)
                return
            }
            ResponseEncoder.encodeChunk(bytes, unframed: connection.streamUnframed, into: &writeBuffer)
            flush(connection)
            finishIfDone(connection)
        case .end:
            endStream(connection)
            flush(connection)
            finishIfDone(connection)
        case .drop:
            closeConnection(connection)
        case .response:
            return
        }
    }

    /// Ends a stream cleanly: the final chunk (unless close-delimited), then close once sent.
    func endStream(_ connection: Connection) {
        guard let stream = connection.stream else { return }
        if !connection.streamUnframed { writeBuffer.append(contentsOf: ResponseEncoder.finalChunk) }
        connection.stream = nil
        connection.closeAfterWrite = true
        connection.state.streamEnded(at: now)
        stream.markClosed()
    }
}
