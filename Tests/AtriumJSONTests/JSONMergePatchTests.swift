import Testing

@testable import AtriumJSON

/// RFC 7396 Appendix A, every vector, plus the §3 example.
@Suite struct JSONMergePatchTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let target: String
        let patch: String
        let result: String
        var testDescription: String { "\(target) + \(patch)" }
    }

    static let appendixA: [Vector] = [
        Vector(target: #"{"a":"b"}"#, patch: #"{"a":"c"}"#, result: #"{"a":"c"}"#),
        Vector(target: #"{"a":"b"}"#, patch: #"{"b":"c"}"#, result: #"{"a":"b","b":"c"}"#),
        Vector(target: #"{"a":"b"}"#, patch: #"{"a":null}"#, result: #"{}"#),
        Vector(target: #"{"a":"b","b":"c"}"#, patch: #"{"a":null}"#, result: #"{"b":"c"}"#),
        Vector(target: #"{"a":["b"]}"#, patch: #"{"a":"c"}"#, result: #"{"a":"c"}"#),
        Vector(target: #"{"a":"c"}"#, patch: #"{"a":["b"]}"#, result: #"{"a":["b"]}"#),
        Vector(target: #"{"a":{"b":"c"}}"#, patch: #"{"a":{"b":"d","c":null}}"#, result: #"{"a":{"b":"d"}}"#),
        Vector(target: #"{"a":[{"b":"c"}]}"#, patch: #"{"a":[1]}"#, result: #"{"a":[1]}"#),
        Vector(target: #"["a","b"]"#, patch: #"["c","d"]"#, result: #"["c","d"]"#),
        Vector(target: #"{"a":"b"}"#, patch: #"["c"]"#, result: #"["c"]"#),
        Vector(target: #"{"a":"foo"}"#, patch: #"null"#, result: #"null"#),
        Vector(target: #"{"a":"foo"}"#, patch: #""bar""#, result: #""bar""#),
        Vector(target: #"{"e":null}"#, patch: #"{"a":1}"#, result: #"{"e":null,"a":1}"#),
        Vector(target: #"[1,2]"#, patch: #"{"a":"b","c":null}"#, result: #"{"a":"b"}"#),
        Vector(target: #"{}"#, patch: #"{"a":{"bb":{"ccc":null}}}"#, result: #"{"a":{"bb":{}}}"#),
        // RFC 7396 §3 example.
        Vector(
            target: #"{"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"This will be unchanged"}"#,
            patch: #"{"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]}"#,
            result: #"{"title":"Hello!","author":{"givenName":"John"},"tags":["example"],"content":"This will be unchanged","phoneNumber":"+01-123-456-7890"}"#
        ),
    ]

    @Test(arguments: appendixA)
    func appliesVector(_ vector: Vector) throws {
        let target = try parse(vector.target)
        let patch = try parse(vector.patch)
        let merged = target.mergePatched(with: patch)
        #expect(merged.serializedString == vector.result)
        #expect(merged == (try parse(vector.result)))
    }
}
