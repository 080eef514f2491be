import CLibPQ

extension PostgresError {
    /// The error a failed call left: from its result when there is one, otherwise from the
    /// connection (a nil result means libpq could not send the query or read an answer).
    static func from(result: OpaquePointer?, connection: OpaquePointer?, sql: String?) -> PostgresError {
        let broken = connection.map { PQstatus($0) != CONNECTION_OK } ?? true
        guard let result else {
            let text = connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? ""
            let message = text.isEmpty ? "no answer from the server" : clean(text)
            return PostgresError(sqlState: nil, message: message, sql: sql, connectionBroken: true)
        }
        let sqlState = PQresultErrorField(result, atrium_pq_diag_sqlstate()).map { String(cString: $0) }
        var message: String
        if let primary = PQresultErrorField(result, atrium_pq_diag_message_primary()) {
            message = String(cString: primary)
        } else {
            message = clean(String(cString: PQresultErrorMessage(result)))
        }
        // Data exceptions quote the offending input ("invalid input syntax for type bigint:
        // \"…\""), which may be a bound secret: keep only the part before the value.
        if sqlState?.hasPrefix("22") == true, let colon = message.firstIndex(of: ":") {
            message = String(message[..<colon])
        }
        if message.isEmpty { message = "the statement failed" }
        return PostgresError(sqlState: sqlState, message: message, sql: sql,
                             connectionBroken: sqlState == nil && broken)
    }

    /// libpq's multi-line messages on one line, without the trailing newline.
    static func clean(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingSuffix(while: \.isWhitespace) }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }
}

extension Substring {
    func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var text = self
        while let last = text.last, predicate(last) { text.removeLast() }
        return text
    }
}
