/// Echoes a client's `X-Request-ID` when it is safe to echo, or makes a new one.
///
/// A new id is a per-process random prefix, the event loop's index and a per-loop counter:
/// unique without a lock or a random draw per request.
struct RequestIdentifiers {
    private let prefix: String
    private var counter: UInt64 = 0

    init(loopIndex: Int) {
        let random = UInt64.random(in: 0..<(1 << 40))
        prefix = String(random, radix: 16) + "-" + String(loopIndex) + "-"
    }

    mutating func make(echoing candidate: String?) -> String {
        if let candidate, Self.isEchoable(candidate) { return candidate }
        counter &+= 1
        return prefix + String(counter, radix: 16)
    }

    /// 1–128 characters of `[A-Za-z0-9._-]` (api.md §1).
    static func isEchoable(_ value: String) -> Bool {
        let utf8 = value.utf8
        guard !utf8.isEmpty, utf8.count <= 128 else { return false }
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            default:
                return false
            }
        }
        return true
    }
}
