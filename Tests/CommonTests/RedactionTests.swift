import Common
import Foundation
import Testing

/// The API key never survives in any form it is echoed back in: verbatim, JSON-escaped (with and without `\/`),
/// URL-encoded (either hex case, `+` for space) and those nested once more.
@Suite struct RedactionTests {
    static let key = "sk-proj/Ab+c d\"e"

    @Test func everyEchoedFormIsRedacted() throws {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: ["key": Self.key]), as: UTF8.self)
        let jsonNoSlash = String(decoding: try JSONSerialization.data(withJSONObject: ["key": Self.key], options: .withoutEscapingSlashes),
                                 as: UTF8.self)
        let nested = String(decoding: try JSONSerialization.data(withJSONObject: ["body": json]), as: UTF8.self)
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let upper = Self.key.addingPercentEncoding(withAllowedCharacters: allowed)!
        let lower = upper.replacingOccurrences(of: "%2F", with: "%2f").replacingOccurrences(of: "%2B", with: "%2b")
        let plus = upper.replacingOccurrences(of: "%20", with: "+")
        for echoed in [Self.key, json, jsonNoSlash, nested, upper, lower, plus, "Bearer \(Self.key)."] {
            let text = "the server said: \(echoed) (end)"
            let out = redact(text, secret: Self.key)
            #expect(out.contains("[redacted]") && !out.contains("Ab+c") && !out.contains("Ab%2B") && !out.contains("Ab%2b"),
                    "\(echoed) -> \(out)")
            #expect(out.hasPrefix("the server said: ") && out.hasSuffix(" (end)"), "only the key is replaced: \(out)")
        }
        #expect(redact("no key here", secret: Self.key) == "no key here")
        #expect(redact("abc", secret: "abc") == "abc", "keys under 4 characters are not redacted (they would eat ordinary text)")
        #expect(redact("abc", secret: nil) == "abc")
    }
}
