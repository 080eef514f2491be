import Testing

@testable import AtriumJSON

/// A named parser input; `expected` is the compact re-serialization, or the error message.
struct ParseCase: Sendable, CustomTestStringConvertible {
    let name: String
    let input: [UInt8]
    let expected: String
    var testDescription: String { name }

    init(_ name: String, _ input: String, _ expected: String) {
        self.name = name
        self.input = Array(input.utf8)
        self.expected = expected
    }

    init(_ name: String, bytes: [UInt8], _ expected: String) {
        self.name = name
        self.input = bytes
        self.expected = expected
    }
}

func parse(_ text: String, maxDepth: Int = 64, rejectDuplicateKeys: Bool = true) throws(JSONError) -> JSONValue {
    try JSONParser.parse(Array(text.utf8), maxDepth: maxDepth, rejectDuplicateKeys: rejectDuplicateKeys)
}

@Suite struct JSONParserTests {
    static let valid: [ParseCase] = [
        ParseCase("null", "null", "null"),
        ParseCase("true", "true", "true"),
        ParseCase("false", "false", "false"),
        ParseCase("zero", "0", "0"),
        ParseCase("negative zero", "-0", "-0"),
        ParseCase("integer", "42", "42"),
        ParseCase("negative integer", "-17", "-17"),
        ParseCase("fraction", "3.25", "3.25"),
        ParseCase("exponent", "1e10", "1e10"),
        ParseCase("signed exponent", "2.5E-3", "2.5E-3"),
        ParseCase("plus exponent", "7e+2", "7e+2"),
        ParseCase("empty string", "\"\"", "\"\""),
        ParseCase("simple escapes", #""\"\\\/\b\f\n\r\t""#, #""\"\\/\b\f\n\r\t""#),
        ParseCase("unicode escape", #""\u0041\u00e9""#, "\"Aé\""),
        ParseCase("surrogate pair", #""\ud83d\ude00""#, "\"😀\""),
        ParseCase("escaped NUL", #""\u0000""#, #""\u0000""#),
        ParseCase("raw UTF-8", "\"héllo 世界 😀\"", "\"héllo 世界 😀\""),
        ParseCase("empty array", "[]", "[]"),
        ParseCase("empty object", "{}", "{}"),
        ParseCase("nested", #"{"a":[1,{"b":null}],"c":"d"}"#, #"{"a":[1,{"b":null}],"c":"d"}"#),
        ParseCase("whitespace everywhere", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n", #"{"a":[1,2]}"#),
        ParseCase("order kept", #"{"z":1,"a":2,"m":3}"#, #"{"z":1,"a":2,"m":3}"#),
        ParseCase("big integer keeps text", "123456789012345678901234567890", "123456789012345678901234567890"),
        ParseCase("huge exponent keeps text", "1e400", "1e400"),
        ParseCase("precise decimal keeps text", "0.10000000000000000000001", "0.10000000000000000000001"),
        ParseCase("DEL is allowed raw", "\"\u{7F}\"", "\"\u{7F}\""),
        ParseCase("largest scalar", "\"\u{10FFFF}\"", "\"\u{10FFFF}\""),
    ]

    @Test(arguments: valid)
    func parsesValidInput(_ testCase: ParseCase) throws {
        let value = try JSONParser.parse(testCase.input)
        #expect(value.serializedString == testCase.expected)
    }

    static let invalid: [ParseCase] = [
        ParseCase("empty input", "", "unexpected end"),
        ParseCase("only whitespace", "  ", "unexpected end"),
        ParseCase("trailing comma in array", "[1,]", "unexpected character"),
        ParseCase("trailing comma in object", #"{"a":1,}"#, "expected object key"),
        ParseCase("line comment", "[1] // c", "trailing characters"),
        ParseCase("block comment", "/* c */ 1", "unexpected character"),
        ParseCase("leading zero", "01", "leading zero"),
        ParseCase("negative leading zero", "-01", "leading zero"),
        ParseCase("leading plus", "+1", "unexpected character"),
        ParseCase("bare minus", "-", "unexpected end"),
        ParseCase("minus without digit", "-a", "invalid number"),
        ParseCase("dot without digits", "1.", "unexpected end"),
        ParseCase("dot then letter", "1.e5", "invalid number"),
        ParseCase("leading dot", ".5", "unexpected character"),
        ParseCase("exponent without digits", "1e", "unexpected end"),
        ParseCase("exponent sign only", "1e+", "unexpected end"),
        ParseCase("NaN", "NaN", "unexpected character"),
        ParseCase("Infinity", "Infinity", "unexpected character"),
        ParseCase("negative Infinity", "-Infinity", "invalid number"),
        ParseCase("hex number", "0x1F", "trailing characters"),
        ParseCase("two values", "1 2", "trailing characters"),
        ParseCase("two objects", "{}{}", "trailing characters"),
        ParseCase("single quotes", "'a'", "unexpected character"),
        ParseCase("unquoted key", "{a:1}", "expected object key"),
        ParseCase("missing colon", #"{"a" 1}"#, "expected ':'"),
        ParseCase("missing comma in array", "[1 2]", "expected ',' or ']'"),
        ParseCase("missing comma in object", #"{"a":1 "b":2}"#, "expected ',' or '}'"),
        ParseCase("unclosed array", "[1", "unexpected end"),
        ParseCase("unclosed object", #"{"a":1"#, "unexpected end"),
        ParseCase("unclosed string", "\"abc", "unexpected end"),
        ParseCase("truncated literal", "tru", "unexpected end"),
        ParseCase("misspelled literal", "nul1", "invalid literal"),
        ParseCase("capitalised literal", "True", "unexpected character"),
        ParseCase("raw newline in string", "\"a\nb\"", "control character in string"),
        ParseCase("raw tab in string", "\"a\tb\"", "control character in string"),
        ParseCase("raw NUL in string", "\"a\u{0}b\"", "control character in string"),
        ParseCase("unknown escape", #""\x41""#, "invalid escape"),
        ParseCase("short unicode escape", #""\u12""#, "invalid escape"),
        ParseCase("non-hex unicode escape", #""\u12G4""#, "invalid escape"),
        ParseCase("lone high surrogate", #""\ud83d""#, "lone surrogate"),
        ParseCase("high surrogate then text", #""\ud83dx""#, "lone surrogate"),
        ParseCase("lone low surrogate", #""\ude00""#, "lone surrogate"),
        ParseCase("two high surrogates", #""\ud83d\ud83d""#, "lone surrogate"),
        ParseCase("invalid UTF-8 continuation", bytes: [0x22, 0x80, 0x22], "invalid UTF-8"),
        ParseCase("invalid UTF-8 C0 overlong", bytes: [0x22, 0xC0, 0xAF, 0x22], "invalid UTF-8"),
        ParseCase("invalid UTF-8 E0 overlong", bytes: [0x22, 0xE0, 0x80, 0xAF, 0x22], "invalid UTF-8"),
        ParseCase("invalid UTF-8 encoded surrogate", bytes: [0x22, 0xED, 0xA0, 0x80, 0x22], "invalid UTF-8"),
        ParseCase("invalid UTF-8 above U+10FFFF", bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], "invalid UTF-8"),
        ParseCase("invalid UTF-8 F5", bytes: [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], "invalid UTF-8"),
        ParseCase("invalid UTF-8 truncated", bytes: [0x22, 0xE4, 0xB8, 0x22], "invalid UTF-8"),
        ParseCase("invalid UTF-8 at end", bytes: [0x22, 0xE4], "invalid UTF-8"),
        ParseCase("UTF-8 in escaped string invalid", bytes: Array(#""\n"#.utf8) + [0xFF, 0x22], "invalid UTF-8"),
        ParseCase("byte order mark", bytes: [0xEF, 0xBB, 0xBF, 0x31], "unexpected character"),
        ParseCase("duplicate key", #"{"a":1,"a":2}"#, "duplicate key"),
        ParseCase("duplicate key escaped", #"{"a":1,"\u0061":2}"#, "duplicate key"),
        ParseCase("duplicate key escaped both", #"{"\u00e9":1,"é":2}"#, "duplicate key"),
        ParseCase("duplicate key nested", #"{"x":{"k":1,"k":1}}"#, "duplicate key"),
        ParseCase("duplicate key among many", "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k7\":0}", "duplicate key"),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidInput(_ testCase: ParseCase) {
        #expect(throws: JSONError.self) { try JSONParser.parse(testCase.input) }
        do {
            _ = try JSONParser.parse(testCase.input)
        } catch {
            #expect(error.message == testCase.expected)
        }
    }

    @Test func errorOffsetPointsAtProblem() {
        #expect(throws: JSONError(offset: 7, message: "duplicate key")) { try parse(#"{"a":1,"a":2}"#) }
        #expect(throws: JSONError(offset: 3, message: "unexpected character")) { try parse("[1,]") }
    }

    @Test func duplicateKeysAllowedWhenAskedLastWins() throws {
        let value = try parse(#"{"a":1,"b":2,"\u0061":3}"#, rejectDuplicateKeys: false)
        #expect(value.serializedString == #"{"a":3,"b":2}"#)
    }

    @Test func escapedKeysAreUnescaped() throws {
        let value = try parse(#"{"\u0061b":true}"#)
        #expect(value["ab"] == .bool(true))
    }

    @Test func depthLimitIsExact() throws {
        func nested(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        _ = try parse(nested(64))
        #expect(throws: JSONError(offset: 64, message: "nesting too deep")) { try parse(nested(65)) }
        _ = try parse(nested(3), maxDepth: 3)
        #expect(throws: JSONError.self) { try parse(nested(4), maxDepth: 3) }
        #expect(throws: JSONError.self) { try parse(#"{"a":{"b":{"c":{}}}}"#, maxDepth: 3) }
        _ = try parse(#"{"a":{"b":{"c":1}}}"#, maxDepth: 3)
        // Scalars have depth 0.
        _ = try parse("1", maxDepth: 0)
        #expect(throws: JSONError.self) { try parse("[]", maxDepth: 0) }
    }

    @Test func hugeDepthRequestIsClampedNotACrash() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONError.self) { try parse(deep, maxDepth: Int.max) }
    }

    @Test func bigNumbersKeepTheirText() throws {
        let value = try parse("[18446744073709551616, 9223372036854775807, -9223372036854775808, 1.50, 1e400]")
        let numbers = try #require(value.arrayValue)
        #expect(numbers[0].int64Value == nil)
        guard case .number(let big) = numbers[0] else { Issue.record("not a number"); return }
        #expect(big.text == "18446744073709551616")
        #expect(numbers[1].int64Value == Int64.max)
        #expect(numbers[2].int64Value == Int64.min)
        #expect(numbers[3].int64Value == nil)
        #expect(numbers[3].doubleValue == 1.5)
        #expect(numbers[4].doubleValue == nil)
        #expect(value.serializedString == "[18446744073709551616,9223372036854775807,-9223372036854775808,1.50,1e400]")
    }

    @Test func parsesFromRawBuffer() throws {
        let bytes: [UInt8] = Array(#"{"k":"v"}"#.utf8)
        let value = try bytes.withUnsafeBytes { buffer throws(JSONError) in try JSONParser.parse(buffer) }
        #expect(value["k"]?.stringValue == "v")
    }

    @Test func roundTripIsStable() throws {
        let documents = [
            #"{"id":1,"name":"Ada \"the\" Countess","tags":["a","b"],"meta":{"ok":true,"n":null,"x":-1.5e-7}}"#,
            #"[[],{},"",0,-0,"\u0001\u001f","😀 ünïcödé"]"#,
        ]
        for document in documents {
            let first = try parse(document)
            let text = first.serializedString
            let second = try parse(text)
            #expect(first == second)
            #expect(second.serializedString == text)
        }
    }
}
