/// The two HTTP versions the server speaks on the wire.
///
/// A closed enum because the parser refuses every other version (`505`), so code downstream
/// never has to handle anything else.
public enum HTTPVersion: Sendable, Equatable, Hashable, CustomStringConvertible {
    case http10
    case http11

    public var description: String {
        switch self {
        case .http10: "HTTP/1.0"
        case .http11: "HTTP/1.1"
        }
    }
}
