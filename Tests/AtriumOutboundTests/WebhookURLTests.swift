import Testing
import AtriumOutbound

/// Webhook URLs are tenant input; the parser accepts only unambiguous http(s) URLs.
@Suite struct WebhookURLTests {
    @Test(arguments: [
        ("https://hooks.example.com/in", "https", "hooks.example.com", 443, "/in"),
        ("http://hooks.example.com", "http", "hooks.example.com", 80, "/"),
        ("HTTPS://Hooks.Example.COM:8443/a/b?x=1&y=2", "https", "hooks.example.com", 8443, "/a/b?x=1&y=2"),
        ("http://example.com?q=1", "http", "example.com", 80, "/?q=1"),
        ("http://93.184.216.34:8080/", "http", "93.184.216.34", 8080, "/"),
        ("http://0x7f.1/x", "http", "127.0.0.1", 80, "/x"),
        ("http://2130706433/", "http", "127.0.0.1", 80, "/"),
        ("https://[2606:4700::1111]/h", "https", "2606:4700::1111", 443, "/h"),
        ("http://[::ffff:127.0.0.1]:81/", "http", "::ffff:127.0.0.1", 81, "/"),
        ("http://example.com:65535/", "http", "example.com", 65535, "/"),
    ])
    func accepts(text: String, scheme: String, host: String, port: Int, path: String) throws {
        let url = try #require(WebhookURL.parse(text))
        #expect(url.scheme == scheme)
        #expect(url.host == host)
        #expect(url.port == port)
        #expect(url.pathAndQuery == path)
    }

    @Test(arguments: [
        "http://user:pass@example.com/",       // userinfo
        "http://user@example.com/",            // userinfo
        "http://evil.com@127.0.0.1/",          // userinfo hiding the real host
        "https://example.com/in#frag",         // fragment
        "https://example.com#",                // empty fragment
        "http://example.com:0/",               // bad port
        "http://example.com:65536/",           // bad port
        "http://example.com:/",                // empty port
        "http://example.com:80a/",             // bad port
        "http://example.com:-1/",              // bad port
        "ftp://example.com/file",              // scheme
        "file:///etc/passwd",                  // scheme
        "gopher://example.com/",               // scheme
        "example.com/hook",                    // no scheme
        "http:example.com",                    // no authority
        "http:///path",                        // empty host
        "http://exa mple.com/",                // space
        "http://example.com/a b",              // space in path
        "http://example.com/\r\nX: y",         // header injection
        "http://1.2.3.999/",                   // numeric host that is not IPv4
        "http://0x7g.1/",                      // numeric host that is not IPv4
        "http://[::1/",                        // unclosed bracket
        "http://::1/",                         // IPv6 without brackets
        "http://[fe80::1%25eth0]/",            // zone id
        "http://%31%32%37.0.0.1/",             // percent-encoded host
        "http://exämple.com/",                 // non-ASCII
        "http://example.com\\@evil.com/",      // backslash
        "http://-/",                           // not a host
        "http://a..b/",                        // empty label
    ])
    func rejects(text: String) {
        #expect(WebhookURL.parse(text) == nil, "\(text) must be rejected")
    }

    @Test func hostHeaderOmitsDefaultPortAndBracketsIPv6() throws {
        #expect(try #require(WebhookURL.parse("https://example.com/")).hostHeader == "example.com")
        #expect(try #require(WebhookURL.parse("http://example.com:8080/")).hostHeader == "example.com:8080")
        #expect(try #require(WebhookURL.parse("http://[2606:4700::1111]:81/")).hostHeader == "[2606:4700::1111]:81")
    }
}
