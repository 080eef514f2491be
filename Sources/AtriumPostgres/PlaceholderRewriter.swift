/// Turns SQLite-style parameters (`?`, `?NNN`) into PostgreSQL's `$1…$n`, once per statement.
///
/// It exists so the store's SQL is written once, in SQLite's syntax, for both engines. A bare
/// `?` takes the number after the largest one seen so far and `?NNN` keeps its number, which
/// is SQLite's own rule. Question marks inside '…' string literals (with '' escapes), "…"
/// identifiers, `--` line comments and `/* */` comments (nested, as PostgreSQL allows) are
/// left alone. PostgreSQL's jsonb `?` operators therefore cannot be written in such SQL (use
/// `jsonb_exists` and friends), and neither can dollar-quoted strings.
enum PlaceholderRewriter {
    /// The rewritten SQL and the number of parameters it takes (the largest number used).
    static func rewrite(_ sql: String) -> (sql: String, parameterCount: Int) {
        let input = Array(sql.utf8)
        guard input.contains(UInt8(ascii: "?")) else { return (sql, 0) }
        var output: [UInt8] = []
        output.reserveCapacity(input.count + 8)
        var largest = 0
        var index = 0
        while index < input.count {
            let byte = input[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                let end = endOfQuoted(input, from: index, quote: byte)
                output.append(contentsOf: input[index..<end])
                index = end
            case UInt8(ascii: "-") where next(input, index) == UInt8(ascii: "-"):
                var end = index
                while end < input.count && input[end] != UInt8(ascii: "\n") { end += 1 }
                output.append(contentsOf: input[index..<end])
                index = end
            case UInt8(ascii: "/") where next(input, index) == UInt8(ascii: "*"):
                let end = endOfBlockComment(input, from: index)
                output.append(contentsOf: input[index..<end])
                index = end
            case UInt8(ascii: "?"):
                var end = index + 1
                var number = 0
                while end < input.count, input[end] >= UInt8(ascii: "0"), input[end] <= UInt8(ascii: "9"),
                      number < 100_000 {
                    number = number * 10 + Int(input[end] - UInt8(ascii: "0"))
                    end += 1
                }
                if end == index + 1 { number = largest + 1 }
                largest = max(largest, number)
                output.append(UInt8(ascii: "$"))
                output.append(contentsOf: String(number).utf8)
                index = end
            default:
                output.append(byte)
                index += 1
            }
        }
        return (String(decoding: output, as: UTF8.self), largest)
    }

    private static func next(_ input: [UInt8], _ index: Int) -> UInt8? {
        index + 1 < input.count ? input[index + 1] : nil
    }

    /// The index just past the closing quote; a doubled quote is an escaped one. An
    /// unterminated literal runs to the end (the server will report it).
    private static func endOfQuoted(_ input: [UInt8], from start: Int, quote: UInt8) -> Int {
        var index = start + 1
        while index < input.count {
            if input[index] == quote {
                if next(input, index) == quote {
                    index += 2
                    continue
                }
                return index + 1
            }
            index += 1
        }
        return input.count
    }

    /// The index just past the `*/` that closes the comment opened at `start`, counting nesting.
    private static func endOfBlockComment(_ input: [UInt8], from start: Int) -> Int {
        var depth = 0
        var index = start
        while index < input.count {
            if input[index] == UInt8(ascii: "/") && next(input, index) == UInt8(ascii: "*") {
                depth += 1
                index += 2
            } else if input[index] == UInt8(ascii: "*") && next(input, index) == UInt8(ascii: "/") {
                depth -= 1
                index += 2
                if depth == 0 { return index }
            } else {
                index += 1
            }
        }
        return input.count
    }
}
