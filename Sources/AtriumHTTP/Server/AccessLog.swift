import AtriumSystem
import CAtriumSystem

/// One event loop's access log: a JSON line per answered request, collected in a buffer and
/// handed to the shared `LogSink` once per loop turn (or when 32 KiB have gathered).
///
/// It exists so that logging costs a request a few appends to a reused buffer, not a lock
/// and a write of its own. Confined to its loop's thread like the rest of the loop's state.
struct AccessLog {
    private let enabled: Bool
    private let sink: LogSink
    private let clock = LogClock()
    private var buffer: [UInt8] = []

    init(enabled: Bool, sink: LogSink) {
        self.enabled = enabled
        self.sink = sink
    }

    /// `{"time":…,"request_id":…,"method":…,"route":…,"status":…,"duration_ms":…,<extra>}`;
    /// `extra` is a handler's own fields, already JSON.
    mutating func record(requestID: String, method: HTTPMethod?, route: String?, status: Int, startedAt: UInt64,
                         extra: [UInt8] = []) {
        guard enabled else { return }
        let elapsedMicros = Int((atrium_monotonic_ns() &- startedAt) / 1000)
        buffer.append(contentsOf: #"{"time":""#.utf8)
        clock.appendTimestamp(to: &buffer)
        buffer.append(contentsOf: #"","request_id":""#.utf8)
        buffer.append(contentsOf: requestID.utf8)
        buffer.append(contentsOf: #"","method":""#.utf8)
        buffer.append(contentsOf: (method?.rawValue ?? "-").utf8)
        buffer.append(contentsOf: #"","route":"#.utf8)
        if let route {
            buffer.append(UInt8(ascii: "\""))
            buffer.append(contentsOf: route.utf8)
            buffer.append(UInt8(ascii: "\""))
        } else {
            buffer.append(contentsOf: "null".utf8)
        }
        buffer.append(contentsOf: #","status":"#.utf8)
        ResponseEncoder.appendDecimal(status, to: &buffer)
        buffer.append(contentsOf: #","duration_ms":"#.utf8)
        ResponseEncoder.appendDecimal(elapsedMicros / 1000, to: &buffer)
        buffer.append(UInt8(ascii: "."))
        let micros = elapsedMicros % 1000
        if micros < 100 { buffer.append(UInt8(ascii: "0")) }
        if micros < 10 { buffer.append(UInt8(ascii: "0")) }
        ResponseEncoder.appendDecimal(micros, to: &buffer)
        if !extra.isEmpty {
            buffer.append(UInt8(ascii: ","))
            buffer.append(contentsOf: extra)
        }
        buffer.append(contentsOf: "}\n".utf8)
        if buffer.count > 32 * 1024 { flush() }
    }

    /// Hands the gathered lines to the sink.
    mutating func flush() {
        guard !buffer.isEmpty else { return }
        sink.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
