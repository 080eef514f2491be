import Testing

@testable import AtriumJSON

@Suite struct JSONValueTests {
    @Test(arguments: [
        ("0", true), ("-0", true), ("12", true), ("1.5", true), ("1e5", true), ("-1.5E+3", true),
        ("", false), ("01", false), ("+1", false), ("1.", false), (".1", false), ("1e", false),
        ("NaN", false), (" 1", false), ("1 ", false), ("0x10", false), ("--1", false),
    ])
    func numberTextIsValidated(_ text: String, _ valid: Bool) {
        #expect((JSONNumber(text: text) != nil) == valid)
    }

    @Test(arguments: [
        ("0", Int64(0)), ("-0", Int64(0)), ("42", Int64(42)), ("9223372036854775807", Int64.max),
        ("-9223372036854775808", Int64.min), ("9223372036854775808", nil), ("-9223372036854775809", nil),
        ("1.0", nil), ("1e3", nil), ("1E0", nil),
    ] as [(String, Int64?)])
    func int64IsExact(_ text: String, _ expected: Int64?) throws {
        let number = try #require(JSONNumber(text: text))
        #expect(number.int64 == expected)
    }

    @Test func accessorsReturnNilForOtherTypes() throws {
        let value = try parse(#"{"s":"x","i":5,"f":1.5,"b":true,"o":{},"a":[],"n":null}"#)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["s"]?.int64Value == nil)
        #expect(value["i"]?.int64Value == 5)
        #expect(value["i"]?.stringValue == nil)
        #expect(value["f"]?.int64Value == nil)
        #expect(value["b"]?.boolValue == true)
        #expect(value["o"]?.objectValue?.count == 0)
        #expect(value["a"]?.arrayValue?.isEmpty == true)
        #expect(value["n"] == .null)
        #expect(value["missing"] == nil)
        #expect(JSONValue.string("x")["s"] == nil)
    }

    @Test func objectSubscriptSetAndRemove() {
        var object = JSONObject([("a", 1), ("b", 2)])
        object["c"] = 3
        object["a"] = 10
        #expect(object.keys == ["a", "b", "c"])
        object["b"] = nil
        #expect(object.keys == ["a", "c"])
        #expect(object["a"] == 10)
        #expect(object.count == 2)
        object["zzz"] = nil
        #expect(object.count == 2)
    }

    @Test func largeObjectIndexStaysConsistent() {
        var object = JSONObject()
        for i in 0..<50 { object["k\(i)"] = .number(JSONNumber(Int64(i))) }
        object["k3"] = nil
        object["k20"] = nil
        #expect(object.count == 48)
        #expect(object["k3"] == nil)
        #expect(object["k49"]?.int64Value == 49)
        #expect(object["k21"]?.int64Value == 21)
        #expect(object.keys.first == "k0")
        #expect(object.keys.last == "k49")
        for i in 0..<48 { object["k\(i + 100)"] = nil }
        object["k4"] = "four"
        #expect(object["k4"] == "four")
    }

    @Test func objectEqualityIgnoresOrderButNotValues() {
        let a = JSONObject([("x", 1), ("y", 2)])
        let b = JSONObject([("y", 2), ("x", 1)])
        let c = JSONObject([("x", 1), ("y", 3)])
        let d = JSONObject([("x", 1)])
        #expect(a == b)
        #expect(a != c)
        #expect(a != d)
        #expect(d != a)
    }
}
