import CLibPQ

/// One writer thread's connection and how it runs one attempt of a job in a transaction.
///
/// It exists to keep the transaction rules in one place: `BEGIN ISOLATION LEVEL SERIALIZABLE`
/// (sent with the body's first statement), the body, `COMMIT`; a serialization failure or
/// deadlock anywhere (even one the body caught and wrapped, seen through
/// `PostgresConnection.lastFailure`) asks for another attempt; a lost connection fails the job
/// and reconnects before the next one.
final class PostgresWriter {
    /// How one attempt ended.
    enum Outcome {
        case committed(notify: Bool)
        /// A serialization failure or deadlock: nothing was committed, run the body again.
        case retry(PostgresError)
        /// The job holds its error.
        case failed
    }

    let connection: PostgresConnection
    private var needsReconnect = false

    init(_ connection: PostgresConnection) {
        self.connection = connection
    }

    /// `retryUniqueViolation`: a unique violation also asks for another attempt. Under
    /// SERIALIZABLE a read-then-insert that lost a race to a transaction which has since
    /// committed (two accepts of one invitation) fails that way rather than with 40001; run
    /// once more, the body sees the winner's row and answers as it would have (PostgreSQL's
    /// manual advises retrying unique violations too). Asked for on the first retry only,
    /// so a genuine duplicate costs one extra run, not `maxRetries`.
    func attempt(_ job: any PostgresWriteJob, retryUniqueViolation: Bool = false) -> Outcome {
        if needsReconnect || !connection.isOpen {
            do {
                try connection.reconnect()
                needsReconnect = false
            } catch {
                job.fail(error)
                return .failed
            }
        }
        connection.lastFailure = nil
        connection.commitNotificationRequested = false
        // Sent with the body's first statement (or ahead of COMMIT when it ran none), so
        // opening the transaction costs no round trip; a failed BEGIN fails that statement.
        connection.beginLazily("BEGIN ISOLATION LEVEL SERIALIZABLE")
        guard job.run(on: connection) else {
            let failure = connection.lastFailure
            rollback()
            if let failure, failure.isSerializationFailure { return .retry(failure) }
            if let failure, retryUniqueViolation, failure.isUniqueViolation { return .retry(failure) }
            if let failure, failure.isConnectionLost {
                needsReconnect = true
                job.fail(failure)
            }
            return .failed
        }
        let tag: String
        do {
            tag = try connection.executeReturningTag("COMMIT")
        } catch {
            // A lost connection during COMMIT leaves the outcome unknown: never run it again.
            if error.isConnectionLost {
                needsReconnect = true
                job.fail(error)
                return .failed
            }
            rollback()
            if error.isSerializationFailure { return .retry(error) }
            job.fail(error)
            return .failed
        }
        guard tag == "COMMIT" else {
            // The body swallowed a failed statement: PostgreSQL ended the transaction with a ROLLBACK.
            let failure = connection.lastFailure
            if let failure, failure.isSerializationFailure { return .retry(failure) }
            job.fail(PostgresError(
                sqlState: failure?.sqlState,
                message: "the write was rolled back: an earlier statement in it failed"
                    + (failure.map { " (\($0.message))" } ?? ""),
                sql: failure?.sql))
            return .failed
        }
        return .committed(notify: connection.commitNotificationRequested)
    }

    /// Ends a transaction that failed; a ROLLBACK that cannot run means the connection is gone.
    private func rollback() {
        if connection.beginIsPending {
            connection.discardPendingBegin()  // no statement ran: there is no transaction
            return
        }
        guard connection.isOpen else {
            needsReconnect = true
            return
        }
        guard connection.transactionStatus != PQTRANS_IDLE else { return }
        do {
            try connection.execute("ROLLBACK")
        } catch {
            needsReconnect = true
        }
    }
}
