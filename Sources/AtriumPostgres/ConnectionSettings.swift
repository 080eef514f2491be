/// What every Atrium connection sets at start-up, in libpq's connection parameters (so a
/// `PQreset` reconnects with them too). The URL's own parameters win over these defaults.
struct ConnectionSettings: Sendable {
    /// libpq `connect_timeout`: a server that does not answer fails the connect instead of hanging.
    var connectTimeoutSeconds = 10
    /// `statement_timeout`: no statement runs (or waits on a lock) forever. 0 = none.
    var statementTimeoutMilliseconds = 30_000
    /// `idle_in_transaction_session_timeout`: a transaction left open by a stuck body is ended
    /// by the server, so it cannot hold back the outbox horizon or keep locks forever. 0 = none.
    var idleInTransactionTimeoutMilliseconds = 60_000
    var applicationName = "atrium"

    /// Keyword/value pairs for `PQconnectdbParams`, `dbname` (the URL, expanded) last so the
    /// URL's parameters override the defaults before it.
    func parameters(url: String) -> [(String, String)] {
        [
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("application_name", applicationName),
            ("options", "-c statement_timeout=\(statementTimeoutMilliseconds)"
                + " -c idle_in_transaction_session_timeout=\(idleInTransactionTimeoutMilliseconds)"),
            ("dbname", url),
        ]
    }
}
