import AtriumOutbound
import Testing
@testable import AtriumWebhooks

@Suite struct RetryTests {
    @Test func theStandardScheduleIsAboutADay() {
        let schedule = RetrySchedule()
        #expect(schedule.delaysMilliseconds == [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000])
        #expect(schedule.maxAttempts == 8)
        #expect(schedule.delay(afterAttempt: 1) == 5_000)
        #expect(schedule.delay(afterAttempt: 7) == 36_000_000)
        #expect(schedule.delay(afterAttempt: 8) == nil)
        #expect(schedule.delay(afterAttempt: 0) == nil)
    }

    @Test func aSmallerBaseScalesEveryDelay() {
        let schedule = RetrySchedule(firstDelayMilliseconds: 50)
        #expect(schedule.delaysMilliseconds == [50, 3_000, 18_000, 72_000, 180_000, 360_000, 360_000])
    }

    static let now: Int64 = 784_111_777_000 // Sun, 06 Nov 1994 08:49:37 GMT

    @Test(arguments: [
        ("120", Optional<Int64>(120_000)),
        ("0", 0),
        (" 7 ", 7_000),
        ("999999999999", 86_400_000),
        ("Sun, 06 Nov 1994 08:50:37 GMT", 60_000),
        ("Sun, 06 Nov 1994 08:40:00 GMT", 0),
        ("Sunday, 06-Nov-94 08:49:37 GMT", nil),
        ("-5", nil),
        ("soon", nil),
        ("", nil),
    ])
    func retryAfterTakesSecondsOrAnHTTPDate(_ value: String, _ expected: Int64?) {
        #expect(RetryAfter.milliseconds(value, nowMilliseconds: Self.now) == expected)
    }

    static func response(_ status: Int, _ headers: [(String, String)] = []) -> Result<OutboundResponse, OutboundError> {
        .success(OutboundResponse(status: status, headers: headers, body: []))
    }

    @Test(arguments: [
        (200, "succeeded", true, false), (204, "succeeded", true, false), (299, "succeeded", true, false),
        (301, "http_error", false, false), (400, "http_error", false, false), (410, "gone", false, true),
        (500, "http_error", false, false), (199, "http_error", false, false),
    ])
    func onlyA2xxSucceedsAndA410IsGone(_ status: Int, _ outcome: String, _ succeeded: Bool, _ gone: Bool) {
        let result = AttemptResult.classify(Self.response(status), nowMilliseconds: Self.now)
        #expect(result.outcome == outcome)
        #expect(result.succeeded == succeeded)
        #expect(result.gone == gone)
        #expect(result.responseStatus == status)
    }

    @Test func retryAfterCountsOnlyFor429And503() {
        let header = [("Retry-After", "30")]
        #expect(AttemptResult.classify(Self.response(429, header), nowMilliseconds: Self.now).retryAfterMilliseconds == 30_000)
        #expect(AttemptResult.classify(Self.response(503, header), nowMilliseconds: Self.now).retryAfterMilliseconds == 30_000)
        #expect(AttemptResult.classify(Self.response(500, header), nowMilliseconds: Self.now).retryAfterMilliseconds == nil)
    }

    @Test(arguments: [
        (OutboundError.Kind.timeout, "timeout"), (.forbiddenAddress, "forbidden_address"), (.dnsFailure, "dns_error"),
        (.tlsFailure, "tls_error"), (.connectFailed, "connection_error"), (.protocolError, "connection_error"),
    ])
    func transportFailuresAreFailedAttempts(_ kind: OutboundError.Kind, _ outcome: String) {
        let result = AttemptResult.classify(.failure(OutboundError(kind, "detail")), nowMilliseconds: Self.now)
        #expect(result.outcome == outcome)
        #expect(!result.succeeded)
        #expect(result.responseStatus == nil)
        #expect(result.error?.contains("detail") == true)
    }
}
