import Testing
@testable import AtriumAPI

/// `--loop-yield-us` / `ATRIUM_LOOP_YIELD_US`: how long an event loop may stay busy before it
/// yields its core (docs/architecture.md, "Event loops under load").
@Suite struct LoopYieldConfigurationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let arguments: [String]
        let environment: [String: String]
        /// nil: the value must be refused.
        let expected: Int?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "default", arguments: [], environment: [:], expected: 200),
        Case(name: "flag", arguments: ["--loop-yield-us", "500"], environment: [:], expected: 500),
        Case(name: "flag with =", arguments: ["--loop-yield-us=0"], environment: [:], expected: 0),
        Case(name: "environment", arguments: [], environment: ["ATRIUM_LOOP_YIELD_US": "1000"], expected: 1000),
        Case(name: "flag beats environment", arguments: ["--loop-yield-us", "50"],
             environment: ["ATRIUM_LOOP_YIELD_US": "1000"], expected: 50),
        Case(name: "negative", arguments: ["--loop-yield-us", "-1"], environment: [:], expected: nil),
        Case(name: "not a number", arguments: ["--loop-yield-us", "soon"], environment: [:], expected: nil),
        Case(name: "over a second", arguments: ["--loop-yield-us", "1000001"], environment: [:], expected: nil),
    ]

    @Test(arguments: cases)
    func loopYield(_ testCase: Case) {
        do {
            let (configuration, _) = try ConfigurationLoader.load(arguments: testCase.arguments,
                                                                  environment: testCase.environment)
            #expect(configuration.http.busyYieldMicroseconds == testCase.expected)
        } catch {
            #expect(testCase.expected == nil, "refused: \(error)")
        }
    }
}
