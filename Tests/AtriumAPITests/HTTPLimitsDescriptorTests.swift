import Foundation
import Glibc
import Testing

/// Running out of file descriptors (server.md: a malformed or hostile load never wedges the
/// process): with `ulimit -n 64` and more clients than descriptors, the server keeps serving
/// the connections it has, does not spin on `accept`, and accepts again once descriptors free.
@Suite("HTTPLimits: descriptors")
struct HTTPLimitsDescriptorTests {
    @Test("out of descriptors: open connections are served, accept does not spin, new ones are accepted once freed")
    func outOfFileDescriptors() throws {
        let server = try TestServer(["--event-loops", "1"], fileLimit: 64)
        let kept = try WireSocket(port: server.port)
        try kept.send(Wire.request("GET", "/healthz"))
        #expect(try kept.readResponse().status == 200)

        // More clients than the process has descriptors: the kernel completes their handshakes
        // into the backlog, the server takes as many as it can and then meets EMFILE.
        var flood: [WireSocket] = []
        for _ in 0..<100 { flood.append(try WireSocket(port: server.port)) }
        usleep(500_000)

        let cpuBefore = try server.cpuSeconds()
        let measured = Date()
        usleep(2_000_000)
        let cpu = try server.cpuSeconds() - cpuBefore
        let share = cpu / Date().timeIntervalSince(measured)
        #expect(share < 0.3, "the server used \(Int(share * 100)) % of a core while out of descriptors")

        // The connection it has is still served.
        try kept.send(Wire.request("GET", "/healthz"))
        #expect(try kept.readResponse().status == 200)

        // Descriptors free up: the server accepts and serves new connections again.
        for socket in flood { socket.close() }
        flood.removeAll()
        var served = false
        let deadline = Date().addingTimeInterval(10)
        while !served && Date() < deadline {
            if let client = try? WireSocket(port: server.port, receiveTimeout: 3) {
                if client.trySend(Wire.request("GET", "/healthz")), let response = try? client.readResponse() {
                    served = response.status == 200
                }
                client.close()
            }
            if !served { usleep(200_000) }
        }
        #expect(served, "no new connection was served after descriptors were freed")
    }
}
