import CLibPQ

/// Checks a `--database-url` before anything connects, and names its target in messages.
///
/// Only libpq's URI form is accepted (`postgres://` or `postgresql://`, with `?host=/dir` for a
/// Unix socket), so a typo in the scheme or a bare keyword string fails at start with a clear
/// message instead of being read as something else. Messages never repeat the password.
public enum PostgresURL {
    /// Throws when `url` is not a `postgres://` or `postgresql://` URI libpq can parse.
    public static func validate(_ url: String) throws(PostgresError) {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw PostgresError.misuse(
                "a database URL must start with postgres:// or postgresql:// (libpq's URI form); got "
                    + "\"\(redacted(url).prefix(40))\"")
        }
        _ = try parse(url)
    }

    /// "host H, port P, database D, user U" for the parts the URL (or libpq's defaults) names.
    static func target(of url: String) -> String {
        guard let options = try? parse(url) else { return "the database in the URL" }
        var parts: [String] = []
        for (key, label) in [("host", "host"), ("hostaddr", "address"), ("port", "port"), ("dbname", "database"),
                             ("user", "user")] {
            if let value = options[key], !value.isEmpty { parts.append("\(label) \(value)") }
        }
        return parts.isEmpty ? "the default server" : parts.joined(separator: ", ")
    }

    /// The URL's parameters, as libpq reads them.
    static func parse(_ url: String) throws(PostgresError) -> [String: String] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0) } ?? "out of memory"
            PQfreemem(errorMessage)
            let text = reason.trimmingSuffix(while: { $0 == "\n" })
            throw PostgresError.misuse("the database URL is not a valid libpq URI: \(redacted(text, in: url))")
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                values[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        return values
    }

    /// `text` with the URL's password (between `user:` and `@`) replaced by `***`.
    public static func redacted(_ text: String, in url: String? = nil) -> String {
        let source = url ?? text
        guard let scheme = source.firstRange(of: "://") else { return text }
        let authority = source[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" }
        guard let at = authority.lastIndex(of: "@"),
              let colon = authority[..<at].firstIndex(of: ":") else { return text }
        let password = String(authority[authority.index(after: colon)..<at])
        guard !password.isEmpty else { return text }
        return text.replacing(password, with: "***")
    }
}

extension String {
    func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var text = self
        while let last = text.last, predicate(last) { text.removeLast() }
        return text
    }
}
