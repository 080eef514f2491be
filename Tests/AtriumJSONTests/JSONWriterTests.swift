import Testing

@testable import AtriumJSON

@Suite struct JSONWriterTests {
    static let expectedControlEscapes: [String] = (0..<0x20).map { code in
        switch code {
        case 0x08: return #"\b"#
        case 0x09: return #"\t"#
        case 0x0A: return #"\n"#
        case 0x0C: return #"\f"#
        case 0x0D: return #"\r"#
        default:
            let hex = Array("0123456789abcdef")
            return "\\u00" + String(hex[code >> 4]) + String(hex[code & 0xF])
        }
    }

    @Test(arguments: 0..<0x20)
    func escapesEveryControlCharacter(_ code: Int) throws {
        var writer = JSONWriter()
        let scalar = try #require(Unicode.Scalar(code))
        writer.string("a" + String(Character(scalar)) + "b")
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text == "\"a" + JSONWriterTests.expectedControlEscapes[code] + "b\"")
        // The output must parse back to the same string.
        let parsed = try JSONParser.parse(writer.bytes)
        #expect(parsed.stringValue == "a" + String(Character(scalar)) + "b")
    }

    struct EscapeCase: Sendable, CustomTestStringConvertible {
        let name: String
        let input: String
        let expected: String
        var testDescription: String { name }
    }

    @Test(arguments: [
        EscapeCase(name: "quote", input: "say \"hi\"", expected: #""say \"hi\"""#),
        EscapeCase(name: "backslash", input: #"C:\dir"#, expected: #""C:\\dir""#),
        EscapeCase(name: "slash not escaped", input: "a/b", expected: #""a/b""#),
        EscapeCase(name: "DEL passed through", input: "\u{7F}", expected: "\"\u{7F}\""),
        EscapeCase(name: "UTF-8 passed through", input: "é世😀", expected: "\"é世😀\""),
        EscapeCase(name: "line separator passed through", input: "\u{2028}", expected: "\"\u{2028}\""),
        EscapeCase(name: "empty", input: "", expected: #""""#),
        EscapeCase(name: "mixed", input: "\"\\\n\u{1}x", expected: #""\"\\\n\u0001x""#),
    ])
    func escapesStrings(_ testCase: EscapeCase) {
        var writer = JSONWriter()
        writer.string(testCase.input)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == testCase.expected)
    }

    @Test func keysAreEscapedToo() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("a\"b")
        writer.int(1)
        writer.endObject()
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"a\"b":1}"#)
    }

    @Test(arguments: [
        (Int64(0), "0"), (Int64(7), "7"), (Int64(-7), "-7"), (Int64(10), "10"), (Int64(1_000_000), "1000000"),
        (Int64.max, "9223372036854775807"), (Int64.min, "-9223372036854775808"),
    ])
    func writesIntegers(_ value: Int64, _ expected: String) {
        var writer = JSONWriter()
        writer.int(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == expected)
    }

    @Test func commasAreRightWhenNesting() {
        var w = JSONWriter()
        w.beginObject()
        w.key("a")
        w.int(1)
        w.key("list")
        w.beginArray()
        w.int(1)
        w.beginObject()
        w.endObject()
        w.beginArray()
        w.endArray()
        w.beginObject()
        w.key("x")
        w.null()
        w.key("y")
        w.bool(false)
        w.endObject()
        w.string("s")
        w.endArray()
        w.key("raw")
        w.raw(#"{"k":[1,2]}"#)
        w.key("rawBytes")
        w.raw(Array("[true]".utf8))
        w.key("n")
        w.int(Int(3))
        w.key("t")
        w.bool(true)
        w.endObject()
        #expect(
            String(decoding: w.bytes, as: UTF8.self)
                == #"{"a":1,"list":[1,{},[],{"x":null,"y":false},"s"],"raw":{"k":[1,2]},"rawBytes":[true],"n":3,"t":true}"#
        )
    }

    @Test func arrayOfObjects() {
        var w = JSONWriter()
        w.beginArray()
        for i in 0..<3 {
            w.beginObject()
            w.key("i")
            w.int(i)
            w.endObject()
        }
        w.endArray()
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"[{"i":0},{"i":1},{"i":2}]"#)
    }

    @Test func valueTreeSerializes() {
        let value: JSONValue = ["b": [1, "two", .null, true], "a": ["nested": [:]]]
        #expect(value.serializedString == #"{"b":[1,"two",null,true],"a":{"nested":{}}}"#)
    }
}
