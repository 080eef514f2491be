import CAtriumSystem
import Glibc

/// Writes RFC 3339 UTC timestamps with milliseconds (`2026-11-23T17:30:00.123Z`), formatting
/// the date and time part once per second.
///
/// It exists because the access log writes one timestamp per request, and `gmtime_r` plus
/// formatting for each would cost more than the rest of the line. Not `Sendable`: each event
/// loop keeps its own.
public final class LogClock {
    private var cachedSecond: Int64 = -1
    private var cachedPrefix: [UInt8] = []

    public init() {}

    /// Appends the current time.
    public func appendTimestamp(to buffer: inout [UInt8]) {
        appendTimestamp(milliseconds: atrium_wall_ms(), to: &buffer)
    }

    /// Appends the given instant (milliseconds since the epoch).
    public func appendTimestamp(milliseconds: Int64, to buffer: inout [UInt8]) {
        let second = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        if second != cachedSecond {
            cachedSecond = second
            cachedPrefix = Array(Self.formatSecond(second).utf8)
        }
        buffer.append(contentsOf: cachedPrefix)
        let millis = Int(milliseconds - second * 1000)
        buffer.append(UInt8(ascii: "."))
        buffer.append(UInt8(ascii: "0") + UInt8(millis / 100))
        buffer.append(UInt8(ascii: "0") + UInt8(millis / 10 % 10))
        buffer.append(UInt8(ascii: "0") + UInt8(millis % 10))
        buffer.append(UInt8(ascii: "Z"))
    }

    /// `YYYY-MM-DDTHH:MM:SS` for a second since the epoch.
    public static func formatSecond(_ second: Int64) -> String {
        var time = time_t(second)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
    }
}
