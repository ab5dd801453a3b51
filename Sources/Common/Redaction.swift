import Foundation

/// Replaces every occurrence of `secret` in `text` so keys never reach logs, records or errors: verbatim, and
/// in each form it takes when echoed back: JSON-escaped (`/` as `\/`, as Foundation's encoders write it),
/// URL-encoded (either hex case, `+` for a space), and those forms nested once more (JSON inside a JSON string).
public func redact(_ text: String, secret: String?) -> String {
    guard let secret, secret.count >= 4 else { return text }
    var out = text
    for form in echoedForms(of: secret) where out.contains(form) {
        out = out.replacingOccurrences(of: form, with: "[redacted]")
    }
    return out
}

/// A URL with any `user:password@` removed, for records and logs.
public func publicURL(_ url: String) -> String {
    guard var components = URLComponents(string: url) else { return url }
    components.user = nil
    components.password = nil
    return components.string ?? url
}

/// The spellings of `secret` that `redact` removes, longest first (so a longer escape is caught whole).
func echoedForms(of secret: String) -> [String] {
    func json(_ s: String, slash: Bool) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/" where slash: out += "\\/"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
    func url(_ s: String, upper: Bool, plus: Bool) -> String {
        var out = ""
        for byte in s.utf8 {
            let scalar = Unicode.Scalar(byte)
            if (byte < 0x80 && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))) || "-._~".utf8.contains(byte) {
                out.unicodeScalars.append(scalar)
            } else if plus && byte == 0x20 {
                out += "+"
            } else {
                let hex = String(byte, radix: 16, uppercase: upper)
                out += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return out
    }
    let transforms: [(String) -> String] = [
        { json($0, slash: true) }, { json($0, slash: false) },
        { url($0, upper: true, plus: false) }, { url($0, upper: false, plus: false) }, { url($0, upper: true, plus: true) },
    ]
    var forms: Set<String> = [secret]
    for _ in 0..<2 {
        for form in forms { for transform in transforms { forms.insert(transform(form)) } }
    }
    return forms.sorted { $0.count > $1.count }
}
