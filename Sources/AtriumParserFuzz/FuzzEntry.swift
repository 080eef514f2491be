// libFuzzer target for `RequestParser`.
//
// Why it exists: the parser reads bytes from anyone on the network, so a trap, a wrong framing
// decision or a result that depends on how TCP split the bytes is a security bug. For each
// input the fuzzer parses the same bytes once in one piece and once cut into pieces (the first
// two input bytes choose the limits and the cuts), and traps when the two disagree or when an
// invariant breaks, so libFuzzer reports it as a crash.
//
// Built two ways (see the Makefile `fuzz` target):
// - with `-Xswiftc -DFUZZING` and `-sanitize=fuzzer`: libFuzzer provides `main` and calls
//   `LLVMFuzzerTestOneInput`;
// - in a plain `swift build`: a small `main` replays the files named on the command line
//   through the same check, so crash artifacts can be re-run without the sanitizer.
import AtriumHTTP

#if !FUZZING
import Foundation
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ParserFuzzCheck.run(UnsafeBufferPointer(start: data, count: size))
    return 0
}

/// The checks run on every fuzz input.
enum ParserFuzzCheck {
    /// What one parse of the input produced.
    struct Outcome: Equatable {
        var requests: [HTTPRequest] = []
        var failure: HTTPParseError?
        var finalPhase: RequestParser.Phase = .idle
        var bufferedAtEnd = false
    }

    static func run(_ input: UnsafeBufferPointer<UInt8>) {
        guard input.count >= 2 else { return }
        let control = input[0]
        let seed = UInt64(input[0]) << 8 | UInt64(input[1])
        let payload = UnsafeBufferPointer(rebasing: input[2...])
        let limits = control & 1 == 1 ? smallLimits : HTTPLimits()

        let whole = parse(payload, limits: limits, pieceSizes: nil)
        var generator = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let maxPiece = Int(input[1] % 32) + 1
        let split = parse(payload, limits: limits, pieceSizes: {
            generator ^= generator << 13
            generator ^= generator >> 7
            generator ^= generator << 17
            return Int(generator % UInt64(maxPiece)) + 1
        })
        guard whole.requests == split.requests else { fatalError("split changed the requests") }
        guard whole.failure == split.failure else { fatalError("split changed the failure") }
        guard whole.finalPhase == split.finalPhase, whole.bufferedAtEnd == split.bufferedAtEnd else {
            fatalError("split changed the final state")
        }
    }

    /// Small limits so that short inputs reach every limit path.
    static let smallLimits: HTTPLimits = {
        var limits = HTTPLimits()
        limits.maxRequestLineBytes = 40
        limits.maxHeaderBytes = 120
        limits.maxHeaderCount = 6
        limits.maxBodyBytes = 64
        limits.maxChunkExtensionBytes = 16
        return limits
    }()

    /// Feeds `payload` in pieces (one piece when `pieceSizes` is nil), draining after each
    /// append and checking invariants on everything that comes out.
    static func parse(
        _ payload: UnsafeBufferPointer<UInt8>, limits: HTTPLimits, pieceSizes: (() -> Int)?
    ) -> Outcome {
        var parser = RequestParser(limits: limits)
        var outcome = Outcome()
        var index = 0
        var continuesForThisRequest = 0
        while index < payload.count {
            let length = min(payload.count - index, pieceSizes?() ?? payload.count)
            parser.append(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: payload[index..<(index + length)])))
            index += length
            drain: while true {
                switch parser.next() {
                case .request(let request):
                    check(request, limits: limits)
                    continuesForThisRequest = 0
                    outcome.requests.append(request)
                    if !parser.hasBufferedBytes, parser.bufferCapacity != 0 {
                        fatalError("buffer capacity kept after a request with nothing left")
                    }
                case .continueExpected:
                    continuesForThisRequest += 1
                    guard continuesForThisRequest == 1 else { fatalError("continueExpected twice for one request") }
                    guard parser.phase == .body else { fatalError("continueExpected outside the body phase") }
                case .needMoreData:
                    break drain
                case .failed(let error):
                    guard [400, 413, 414, 417, 431, 501, 505].contains(error.status),
                          error.status == error.reason.status else {
                        fatalError("unexpected status")
                    }
                    guard case .failed(let again) = parser.next(), again == error else {
                        fatalError("failure is not terminal")
                    }
                    outcome.failure = error
                    outcome.finalPhase = parser.phase
                    outcome.bufferedAtEnd = parser.hasBufferedBytes
                    return outcome
                }
            }
        }
        outcome.finalPhase = parser.phase
        outcome.bufferedAtEnd = parser.hasBufferedBytes
        return outcome
    }

    /// Invariants every accepted request must hold.
    static func check(_ request: HTTPRequest, limits: HTTPLimits) {
        guard request.body.count <= limits.maxBodyBytes else { fatalError("body over maxBodyBytes") }
        guard request.headers.count <= limits.maxHeaderCount else { fatalError("more fields than maxHeaderCount") }
        guard request.target.utf8.count <= limits.maxRequestLineBytes else { fatalError("target over the line limit") }
        guard !request.path.isEmpty else { fatalError("empty path") }
        guard request.method != .connect else { fatalError("CONNECT accepted") }
        guard request.method.rawValue.utf8.count <= limits.maxMethodBytes else {
            fatalError("over-long method accepted")
        }
        if request.path == "*" {
            guard request.method == .options, request.target == "*" else { fatalError("* without OPTIONS") }
        } else {
            guard request.path.utf8.first == UInt8(ascii: "/") else { fatalError("path not starting with /") }
        }
        guard request.target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { fatalError("target with bad bytes") }
        if request.version == .http11 {
            guard request.headers.count(of: "host") == 1 else { fatalError("HTTP/1.1 without exactly one Host") }
        }
        guard request.headers.count(of: "content-length") <= 1 else { fatalError("several Content-Length accepted") }
        let chunked = request.headers.contains("transfer-encoding")
        if chunked {
            guard !request.headers.contains("content-length"), request.version == .http11 else {
                fatalError("Transfer-Encoding with Content-Length or on HTTP/1.0 accepted")
            }
        } else if let length = request.headers.first("content-length") {
            guard Int(length) == request.body.count else { fatalError("body length differs from Content-Length") }
        } else {
            guard request.body.isEmpty else { fatalError("body without framing") }
        }
        for (name, value) in request.headers {
            guard !name.isEmpty, !name.utf8.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: ":") }) else {
                fatalError("bad field name accepted")
            }
            guard !value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else {
                fatalError("control character in a value accepted")
            }
        }
    }
}

#if !FUZZING
/// Without libFuzzer: replays the inputs named on the command line (crash artifacts, a corpus).
@main
struct ParserFuzzReplay {
    static func main() {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("cannot read \(path)")
                continue
            }
            let bytes = [UInt8](data)
            bytes.withUnsafeBufferPointer { buffer in
                if let base = buffer.baseAddress {
                    _ = fuzz(base, buffer.count)
                }
            }
            count += 1
        }
        print("replayed \(count) input(s) without a failure")
    }
}
#endif
