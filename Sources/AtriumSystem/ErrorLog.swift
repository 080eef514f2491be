/// Unexpected errors, one JSON line each on standard error, never to a client.
///
/// It exists so that the API's unexpected handler errors and the webhook dispatcher's
/// failures are logged the same way: `{"level":"error",…}` through `LogSink.standardError`.
public enum ErrorLog {
    /// An error met while answering a request: `{"level":"error","request_id":…,"error":…}`.
    public static func write(requestID: String, error: any Error) {
        var line = JSONLogLine()
        line.string("level", "error")
        line.string("request_id", requestID)
        line.string("error", String(describing: error))
        LogSink.standardError.write(line.finished())
    }

    /// A failure outside any request: `{"level":"error","msg":…}`.
    public static func write(message: String) {
        var line = JSONLogLine()
        line.string("level", "error")
        line.string("msg", message)
        LogSink.standardError.write(line.finished())
    }
}
