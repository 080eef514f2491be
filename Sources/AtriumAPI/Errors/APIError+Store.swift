/// The answers to the store's operational failures (`StoreError.busy`, `.storageFull`): both
/// are `503 UNAVAILABLE` with `Retry-After` (api.md §1, overload), since nothing was written
/// and the same request can succeed later; the message tells an operator's client which.
extension APIError {
    /// The database stayed locked past the busy timeout (an admin command holding it).
    public static let storeBusy = APIError.unavailable(
        "The service is busy; retry shortly.", retryAfterSeconds: 1)
    /// The disk holding the data is full: writes are refused until space is freed.
    public static let storageFull = APIError.unavailable(
        "Storage is full: the server cannot save changes right now; retry later.", retryAfterSeconds: 30)

    static func unavailable(_ message: String, retryAfterSeconds: Int) -> APIError {
        var error = APIError(.unavailable, message)
        error.headers.append(("Retry-After", String(retryAfterSeconds)))
        return error
    }
}
