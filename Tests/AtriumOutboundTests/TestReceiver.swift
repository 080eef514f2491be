import COpenSSL
import Foundation
import Glibc
import Synchronization
import AtriumTestSupport
@testable import AtriumOutbound

/// One-shot webhook receiver on its own thread: accepts one connection (plain or TLS),
/// records the raw request bytes, answers with canned raw bytes (or never answers), closes.
final class TestReceiver: Sendable {
    let listener: Listener
    var port: Int { listener.port }
    private let captured = Mutex<[UInt8]>([])
    private let finished = DispatchSemaphore(value: 0)

    init(response: [UInt8]?, tls: ServerTLSContext? = nil) throws {
        let listener = try Listener()
        self.listener = listener
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            guard let fd = listener.accept(milliseconds: 10_000) else { return }
            ServerSide.serve(fd, tls: tls) { ssl in
                let request = RequestReading.readRequest(fd: fd, ssl: ssl)
                captured.withLock { $0 = request }
                guard let response else {
                    // Never answer: wait (bounded) for the client to give up and close.
                    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    _ = poll(&entry, 1, 10_000)
                    return
                }
                withSIGPIPEBlocked { ServerSide.write(response, fd: fd, ssl: ssl) }
            }
        }
    }

    /// The request bytes received, after the receiver has finished (bounded wait).
    func receivedRequest() -> [UInt8] {
        _ = finished.wait(timeout: .now() + 10)
        return captured.withLock { $0 }
    }
}
