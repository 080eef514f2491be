import Foundation

/// One dispatched event of a `text/event-stream` body (HTML Living Standard, "Server-sent events").
public struct ServerSentEvent: Sendable, Equatable {
    /// The last event id seen so far on the stream (the `id:` of this event or of an earlier one);
    /// nil when none was ever set, or an empty `id:` cleared it.
    public var id: String?
    /// The `event:` field; "message" when absent.
    public var event: String
    /// The `data:` lines joined with "\n".
    public var data: String

    public init(id: String?, event: String = "message", data: String) {
        self.id = id
        self.event = event
        self.data = data
    }
}

/// An incremental parser of `text/event-stream`: feed it bytes as they arrive, in chunks split
/// anywhere (inside a line, between CR and LF, inside a UTF-8 sequence), and it returns the
/// events each chunk completed. Lines end with CRLF, LF or CR; a line starting with `:` is a
/// comment (the server's heartbeat); `retry:` with only digits sets `retry`; an `id:` holding
/// NUL is ignored; an event with no `data:` is not dispatched (its `id:` still counts once the
/// blank line that ends it arrives).
public struct ServerSentEventParser: Sendable {
    /// The reconnection time the server asked for with `retry:`, if it did.
    public private(set) var retry: Duration?
    /// The stream's last event id (what `Last-Event-ID` carries on reconnection).
    public private(set) var lastEventID: String?
    /// Bytes received since the last end of line.
    private var line: [UInt8] = []
    /// The previous chunk ended with CR: a LF that starts the next one belongs to it.
    private var afterCR = false
    private var sawFirstByte = false
    private var data: [String] = []
    private var eventType = ""
    /// The `id:` read since the last dispatch: it becomes `lastEventID` only when the blank line
    /// that ends its event arrives, so a connection cut inside an event does not move it.
    private var idBuffer: String?

    public init(lastEventID: String? = nil) {
        self.lastEventID = lastEventID
        idBuffer = lastEventID
    }

    /// Parses `bytes`; returns the events they complete, in order.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [ServerSentEvent] where Bytes.Element == UInt8 {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\r"):
                afterCR = true
                endLine(into: &events)
            case UInt8(ascii: "\n"):
                endLine(into: &events)
            default:
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine(into events: inout [ServerSentEvent]) {
        var bytes = line[...]
        line.removeAll(keepingCapacity: true)
        if !sawFirstByte {
            sawFirstByte = true
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }  // a leading BOM
        }
        if bytes.isEmpty {
            dispatch(into: &events)
            return
        }
        if bytes.first == UInt8(ascii: ":") { return }  // a comment: heartbeat or `: stream open`
        let name: String
        var value: ArraySlice<UInt8>
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            value = bytes[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
            name = String(decoding: bytes[..<colon], as: UTF8.self)
        } else {
            value = []
            name = String(decoding: bytes, as: UTF8.self)
        }
        let text = String(decoding: value, as: UTF8.self)
        switch name {
        case "data":
            data.append(text)
        case "event":
            eventType = text
        case "id":
            if !value.contains(0) { idBuffer = text.isEmpty ? nil : text }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
               let milliseconds = Int64(text) {
                retry = .milliseconds(milliseconds)
            }
        default:
            break  // an unknown field is ignored
        }
    }

    private mutating func dispatch(into events: inout [ServerSentEvent]) {
        lastEventID = idBuffer
        defer {
            data.removeAll()
            eventType = ""
        }
        guard !data.isEmpty else { return }
        events.append(ServerSentEvent(id: lastEventID, event: eventType.isEmpty ? "message" : eventType,
                                      data: data.joined(separator: "\n")))
    }
}
