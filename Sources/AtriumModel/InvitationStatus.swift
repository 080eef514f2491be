/// An invitation's stored state. `expired` is not stored: it is a pending invitation past its
/// expiry, worked out when it is read (`InvitationRow.visibleStatus`).
public enum InvitationStatus: String, Sendable, CaseIterable {
    case pending, accepted, revoked, expired
}
