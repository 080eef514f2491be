/// Request-target and authority syntax (RFC 9112 §3.2, RFC 3986), checked on bytes.
///
/// A separate namespace because both the request line (absolute-form authority) and the Host
/// field need the same authority rules, and because a target that slips through with a space,
/// a fragment or a broken escape is how routing and smuggling bugs start.
enum RequestTarget {
    /// Where the path and query sit inside the target. A nil `path` means "/" (absolute-form
    /// with an empty path).
    struct Parts: Equatable {
        var path: Range<Int>?
        var query: Range<Int>?
    }

    /// Splits an origin-form or absolute-form target (not "*", handled by the caller), or throws
    /// `invalidRequestTarget`.
    static func parse(_ target: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Parts {
        guard let first = target.first else { throw HTTPParseError(.invalidRequestTarget) }
        if first == HTTPBytes.slash {
            return try parsePathAndQuery(target, from: 0)
        }
        // absolute-form: "http" / "https" "://" authority [path-abempty] ["?" query]
        let schemeEnd: Int
        if startsWithIgnoringCase(target, "http://") {
            schemeEnd = 7
        } else if startsWithIgnoringCase(target, "https://") {
            schemeEnd = 8
        } else {
            throw HTTPParseError(.invalidRequestTarget)
        }
        var authorityEnd = schemeEnd
        while authorityEnd < target.count, target[authorityEnd] != HTTPBytes.slash,
              target[authorityEnd] != HTTPBytes.question {
            authorityEnd += 1
        }
        let authority = UnsafeBufferPointer(rebasing: target[schemeEnd..<authorityEnd])
        guard !authority.isEmpty, isValidAuthority(authority) else {
            throw HTTPParseError(.invalidRequestTarget)
        }
        if authorityEnd == target.count {
            return Parts(path: nil, query: nil)
        }
        if target[authorityEnd] == HTTPBytes.question {
            let query = try validateQuery(target, from: authorityEnd + 1)
            return Parts(path: nil, query: query)
        }
        return try parsePathAndQuery(target, from: authorityEnd)
    }

    /// `host [":" port]` where host is an IP-literal or a reg-name / IPv4 address (no userinfo).
    /// An empty value is valid (RFC 9112 §3.2: Host is empty when the target has no authority).
    static func isValidAuthority(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = bytes.count
        if n > 0, bytes[0] == 0x5B { // "[" IP-literal "]"
            i = 1
            while i < n, bytes[i] != 0x5D {
                let b = bytes[i]
                guard HTTPBytes.isUnreserved(b) || HTTPBytes.isSubDelim(b) || b == HTTPBytes.colon else { return false }
                i += 1
            }
            guard i < n, i > 1 else { return false }
            i += 1
        } else {
            while i < n, bytes[i] != HTTPBytes.colon {
                let b = bytes[i]
                if b == HTTPBytes.percent {
                    guard i + 2 < n,
                          HTTPBytes.hexValue(bytes[i + 1]) != nil,
                          HTTPBytes.hexValue(bytes[i + 2]) != nil else {
                        return false
                    }
                    i += 3
                    continue
                }
                guard HTTPBytes.isUnreserved(b) || HTTPBytes.isSubDelim(b) else { return false }
                i += 1
            }
        }
        guard i < n else { return true }
        guard bytes[i] == HTTPBytes.colon else { return false }
        i += 1
        let portDigits = n - i
        guard portDigits <= 5 else { return false }
        while i < n {
            guard HTTPBytes.isDigit(bytes[i]) else { return false }
            i += 1
        }
        return true
    }

    /// `path-abempty ["?" query]` starting at `start` (which holds "/").
    private static func parsePathAndQuery(
        _ target: UnsafeBufferPointer<UInt8>, from start: Int
    ) throws(HTTPParseError) -> Parts {
        var i = start
        let n = target.count
        while i < n {
            let b = target[i]
            if b == HTTPBytes.question {
                let query = try validateQuery(target, from: i + 1)
                return Parts(path: start..<i, query: query)
            }
            try check(target, at: &i, allowingQuestionMark: false)
        }
        return Parts(path: start..<n, query: nil)
    }

    /// Validates `query` from `start` to the end; returns its range.
    private static func validateQuery(
        _ target: UnsafeBufferPointer<UInt8>, from start: Int
    ) throws(HTTPParseError) -> Range<Int> {
        var i = start
        while i < target.count {
            try check(target, at: &i, allowingQuestionMark: true)
        }
        return start..<target.count
    }

    /// Accepts one pchar, "/" (or also "?", "[" and "]" in a query), or a whole %HH escape, and
    /// moves past it. Brackets are gen-delims that RFC 3986 wants escaped, but browsers and
    /// curl send `filter[field]=value` as it is, and they cannot change how a request frames.
    @inline(__always)
    private static func check(
        _ target: UnsafeBufferPointer<UInt8>, at i: inout Int, allowingQuestionMark: Bool
    ) throws(HTTPParseError) {
        let b = target[i]
        if HTTPBytes.isPathByte(b) || b == HTTPBytes.slash
            || (allowingQuestionMark && (b == HTTPBytes.question || b == 0x5B || b == 0x5D)) {
            i += 1
            return
        }
        if b == HTTPBytes.percent, i + 2 < target.count,
           HTTPBytes.hexValue(target[i + 1]) != nil, HTTPBytes.hexValue(target[i + 2]) != nil {
            i += 3
            return
        }
        throw HTTPParseError(.invalidRequestTarget)
    }

    private static func startsWithIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        return HTTPBytes.equalsIgnoringCase(UnsafeBufferPointer(rebasing: bytes[0..<count]), prefix)
    }
}
