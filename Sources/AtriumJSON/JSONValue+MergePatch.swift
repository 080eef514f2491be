/// JSON Merge Patch (RFC 7396), used by `PATCH /v1/records/{id}`: a patch object sets the
/// members it names, removes those it sets to `null`, and recurses into nested objects;
/// anything that is not an object replaces the target wholesale.
extension JSONValue {
    public func mergePatched(with patch: JSONValue) -> JSONValue {
        guard case .object(let patchObject) = patch else { return patch }
        var result: JSONObject
        if case .object(let target) = self {
            result = target
        } else {
            result = JSONObject()
        }
        for (name, value) in patchObject {
            if case .null = value {
                result[name] = nil
            } else {
                let current = result[name] ?? .null
                result[name] = current.mergePatched(with: value)
            }
        }
        return .object(result)
    }
}
