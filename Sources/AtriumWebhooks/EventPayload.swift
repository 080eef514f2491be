import AtriumJSON
import AtriumStore

/// The body a receiver gets for an event (api.md §6):
/// `{"id": "evt_<n>", "type": …, "workspace_id": …, "created_at": …, "data": {…}}`.
public enum EventPayload {
    /// The Standard Webhooks message id: the same on every retry, so receivers can deduplicate.
    public static func messageID(_ eventID: Int64) -> String { "evt_\(eventID)" }

    /// `fields` (an endpoint's setting) narrows a record event's `data.data` to those top-level
    /// fields; the record's own attributes are always sent, and other events are sent whole.
    public static func body(for event: OutboxEvent, fields: [String]?) -> [UInt8] {
        var writer = JSONWriter(capacity: event.data.utf8.count + 160)
        writer.beginObject()
        writer.key("id")
        writer.string(messageID(event.id))
        writer.key("type")
        writer.string(event.type)
        writer.key("workspace_id")
        writer.int(event.workspaceID)
        writer.key("created_at")
        writer.string(Timestamp.format(event.createdAt))
        writer.key("data")
        if let fields, event.type.hasPrefix("record."), let narrowed = narrowRecord(event.data, to: fields) {
            writer.value(narrowed)
        } else {
            writer.raw(event.data)
        }
        writer.endObject()
        return writer.bytes
    }

    static func narrowRecord(_ text: String, to fields: [String]) -> JSONValue? {
        guard case .object(let record)? = try? JSONParser.parse(Array(text.utf8), rejectDuplicateKeys: false) else {
            return nil
        }
        var result = JSONObject()
        let wanted = Set(fields)
        for (key, value) in record {
            guard key == "data", case .object(let data) = value else {
                result[key] = value
                continue
            }
            var kept = JSONObject()
            for (field, fieldValue) in data where wanted.contains(field) { kept[field] = fieldValue }
            result[key] = .object(kept)
        }
        return .object(result)
    }
}
