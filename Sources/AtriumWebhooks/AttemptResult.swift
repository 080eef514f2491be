import AtriumJSON
import AtriumOutbound

/// What one attempt came to, decided from the receiver's answer or the transport failure:
/// only a 2xx succeeds; a 410 also turns the endpoint off; a 429/503 may name its own wait.
public struct AttemptResult: Sendable, Equatable {
    /// The metrics label (`succeeded`, `http_error`, `gone`, `timeout`, …).
    public var outcome: String
    public var succeeded: Bool
    public var responseStatus: Int?
    /// For the delivery log: never a header or body of ours.
    public var error: String?
    /// The receiver's `Retry-After`, in milliseconds from now (429 and 503 only).
    public var retryAfterMilliseconds: Int64?
    /// A 410: stop retrying and turn the endpoint off.
    public var gone: Bool

    public init(outcome: String, succeeded: Bool, responseStatus: Int?, error: String?, retryAfterMilliseconds: Int64?,
                gone: Bool) {
        self.outcome = outcome
        self.succeeded = succeeded
        self.responseStatus = responseStatus
        self.error = error
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.gone = gone
    }

    public static func classify(_ result: Result<OutboundResponse, OutboundError>, nowMilliseconds: Int64)
        -> AttemptResult
    {
        switch result {
        case .success(let response):
            let status = response.status
            if (200...299).contains(status) {
                return AttemptResult(outcome: "succeeded", succeeded: true, responseStatus: status, error: nil,
                                     retryAfterMilliseconds: nil, gone: false)
            }
            if status == 410 {
                return AttemptResult(outcome: "gone", succeeded: false, responseStatus: status,
                                     error: "HTTP 410: endpoint disabled", retryAfterMilliseconds: nil, gone: true)
            }
            var wait: Int64?
            if status == 429 || status == 503, let header = response.header("retry-after") {
                wait = RetryAfter.milliseconds(header, nowMilliseconds: nowMilliseconds)
            }
            return AttemptResult(outcome: "http_error", succeeded: false, responseStatus: status,
                                 error: "HTTP \(status)", retryAfterMilliseconds: wait, gone: false)
        case .failure(let failure):
            let outcome: String
            switch failure.kind {
            case .timeout: outcome = "timeout"
            case .forbiddenAddress: outcome = "forbidden_address"
            case .dnsFailure: outcome = "dns_error"
            case .tlsFailure: outcome = "tls_error"
            case .invalidURL, .connectFailed, .protocolError: outcome = "connection_error"
            }
            return AttemptResult(outcome: outcome, succeeded: false, responseStatus: nil,
                                 error: String(failure.description.prefix(500)),
                                 retryAfterMilliseconds: nil, gone: false)
        }
    }
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date.
public enum RetryAfter {
    /// Milliseconds from `now`, clamped to 0…24 h; nil when the value is neither form.
    public static func milliseconds(_ value: String, nowMilliseconds: Int64) -> Int64? {
        let text = value.trimmingCharacters
        let limit = RetrySchedule.maxRetryAfterMilliseconds
        if !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let seconds = Int64(text) else { return limit }
            return min(seconds.multipliedReportingOverflow(by: 1000).overflow ? limit : seconds * 1000, limit)
        }
        guard let date = httpDate(text) else { return nil }
        return min(max(0, date - nowMilliseconds), limit)
    }

    /// IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, in milliseconds since the epoch.
    static func httpDate(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard bytes.count == 29, bytes[3] == UInt8(ascii: ","), bytes[4] == 32, bytes[7] == 32, bytes[11] == 32,
              bytes[16] == 32, text.hasSuffix(" GMT"),
              let month = months.firstIndex(of: String(decoding: bytes[8..<11], as: UTF8.self)) else { return nil }
        let day = String(decoding: bytes[5..<7], as: UTF8.self)
        let year = String(decoding: bytes[12..<16], as: UTF8.self)
        let time = String(decoding: bytes[17..<25], as: UTF8.self)
        let monthText = month < 9 ? "0\(month + 1)" : "\(month + 1)"
        return Timestamp.parse("\(year)-\(monthText)-\(day)T\(time)Z")
    }
}

extension String {
    var trimmingCharacters: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
