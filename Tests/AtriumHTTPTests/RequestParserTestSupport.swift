import AtriumHTTP

/// Everything a parser said about one input, with `needMoreData` and `continueExpected`
/// placement left out so differently split inputs compare equal.
struct ParserTestOutcome: Equatable, CustomStringConvertible {
    var requests: [HTTPRequest] = []
    var failure: HTTPParseError?
    var continues = 0

    var description: String {
        "requests: \(requests.map { "\($0.method) \($0.target) body \($0.body.count)" }), failure: \(failure.map { "\($0)" } ?? "none")"
    }

    /// Same requests and same failure (ignores how many 100-continue events were seen).
    func sameResult(as other: ParserTestOutcome) -> Bool {
        requests == other.requests && failure == other.failure
    }
}

/// Feeds `pieces` one at a time, draining `next()` after each append.
func parseRequests(pieces: [[UInt8]], limits: HTTPLimits = HTTPLimits()) -> ParserTestOutcome {
    var parser = RequestParser(limits: limits)
    var outcome = ParserTestOutcome()
    for piece in pieces {
        parser.append(contentsOf: piece)
        drain: while true {
            switch parser.next() {
            case .request(let request): outcome.requests.append(request)
            case .continueExpected: outcome.continues += 1
            case .needMoreData: break drain
            case .failed(let error):
                outcome.failure = error
                return outcome
            }
        }
    }
    return outcome
}

func parseRequests(_ bytes: [UInt8], limits: HTTPLimits = HTTPLimits()) -> ParserTestOutcome {
    parseRequests(pieces: [bytes], limits: limits)
}

func parseRequests(_ text: String, limits: HTTPLimits = HTTPLimits()) -> ParserTestOutcome {
    parseRequests(Array(text.utf8), limits: limits)
}

/// `bytes` cut into pieces of one byte each.
func splitIntoBytes(_ bytes: [UInt8]) -> [[UInt8]] {
    bytes.map { [$0] }
}

/// `bytes` cut at pseudo-random points drawn from `generator`.
func splitRandomly(_ bytes: [UInt8], using generator: inout ParserTestGenerator) -> [[UInt8]] {
    var pieces: [[UInt8]] = []
    var index = 0
    while index < bytes.count {
        let maxPiece = Int(generator.next() % 4) == 0 ? 64 : 7
        let length = min(bytes.count - index, Int(generator.next() % UInt64(maxPiece)) + 1)
        pieces.append(Array(bytes[index..<(index + length)]))
        index += length
    }
    return pieces
}

/// A tiny seeded generator, so random splits are reproducible.
struct ParserTestGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension HTTPLimits {
    /// Default limits with some fields changed.
    static func testing(_ change: (inout HTTPLimits) -> Void) -> HTTPLimits {
        var limits = HTTPLimits()
        change(&limits)
        return limits
    }
}
