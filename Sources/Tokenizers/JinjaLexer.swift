/// Splits a Jinja template into text and tags, applying `-` whitespace control and the `trim_blocks` /
/// `lstrip_blocks` options that `transformers` enables for chat templates.
enum JinjaSegment: Equatable {
    case text(String)
    case output([JinjaToken])
    case statement([JinjaToken])
}

/// A token inside `{{ }}` or `{% %}`.
enum JinjaToken: Equatable {
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case op(String)
}

enum JinjaLexer {
    static func segments(_ template: String) throws -> [JinjaSegment] {
        let s = Array(template.unicodeScalars)
        var out: [JinjaSegment] = []
        var text = String.UnicodeScalarView()
        var i = 0
        var stripNextWhitespace = false
        var trimNextNewline = false
        func flushText(rstrip: Bool, lstripLine: Bool) {
            var chars = Array(text)
            if rstrip {
                while let last = chars.last, last.properties.isWhitespace { chars.removeLast() }
            } else if lstripLine {
                // Remove spaces and tabs between the start of the line and the tag.
                var k = chars.count
                while k > 0, chars[k - 1] == " " || chars[k - 1] == "\t" { k -= 1 }
                if k == 0 || chars[k - 1] == "\n" { chars.removeSubrange(k...) }
            }
            if !chars.isEmpty { out.append(.text(String(String.UnicodeScalarView(chars)))) }
            text = String.UnicodeScalarView()
        }
        while i < s.count {
            let c = s[i]
            if c == "{", i + 1 < s.count, s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#" {
                let kind = s[i + 1]
                var j = i + 2
                let minus = j < s.count && s[j] == "-"
                let plus = j < s.count && s[j] == "+"
                if minus || plus { j += 1 }
                flushText(rstrip: minus, lstripLine: kind != "{" && !plus)
                let close: Unicode.Scalar = kind == "{" ? "}" : (kind == "%" ? "%" : "#")
                if kind == "#" {
                    // Comment: skip to "#}".
                    var k = j
                    while k + 1 < s.count, !(s[k] == "#" && s[k + 1] == "}") { k += 1 }
                    guard k + 1 < s.count else { throw TokenizerError.template("unterminated comment") }
                    stripNextWhitespace = s[k - 1] == "-"
                    trimNextNewline = true
                    i = k + 2
                    continue
                }
                let (tokens, end, rightMinus) = try tags(s, from: j, close: close)
                out.append(kind == "{" ? .output(tokens) : .statement(tokens))
                stripNextWhitespace = rightMinus
                trimNextNewline = kind == "%"
                i = end
                continue
            }
            if stripNextWhitespace {
                if c.properties.isWhitespace {
                    i += 1
                    continue
                }
                stripNextWhitespace = false
            } else if trimNextNewline {
                trimNextNewline = false
                if c == "\n" {
                    i += 1
                    continue
                }
            }
            trimNextNewline = false
            text.append(c)
            i += 1
        }
        flushText(rstrip: false, lstripLine: false)
        return out
    }

    /// Tokens of a tag body up to its closing delimiter; returns the index after it and whether it was `-`.
    static func tags(_ s: [Unicode.Scalar], from start: Int, close: Unicode.Scalar) throws
        -> ([JinjaToken], Int, Bool)
    {
        var tokens: [JinjaToken] = []
        var i = start
        while i < s.count {
            let c = s[i]
            if c.properties.isWhitespace {
                i += 1
                continue
            }
            if c == "-", i + 2 < s.count, s[i + 1] == close, s[i + 2] == "}" { return (tokens, i + 3, true) }
            if c == close, i + 1 < s.count, s[i + 1] == "}" { return (tokens, i + 2, false) }
            if c == "'" || c == "\"" {
                var value = String.UnicodeScalarView()
                var k = i + 1
                while k < s.count, s[k] != c {
                    if s[k] == "\\", k + 1 < s.count {
                        k += 1
                        switch s[k] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(s[k])
                        }
                    } else {
                        value.append(s[k])
                    }
                    k += 1
                }
                guard k < s.count else { throw TokenizerError.template("unterminated string literal") }
                tokens.append(.string(String(value)))
                i = k + 1
                continue
            }
            if c.properties.numericType != nil, c.value < 128 {
                var k = i
                while k < s.count, s[k].value < 128, s[k].properties.numericType != nil || s[k] == "." { k += 1 }
                let literal = String(String.UnicodeScalarView(s[i..<k]))
                if literal.contains("."), let d = Double(literal) {
                    tokens.append(.float(d))
                } else {
                    tokens.append(.integer(Int(literal) ?? 0))
                }
                i = k
                continue
            }
            if c == "_" || c.properties.isAlphabetic {
                var k = i
                while k < s.count,
                    s[k] == "_" || s[k].properties.isAlphabetic
                        || (s[k].value < 128 && s[k].properties.numericType != nil)
                {
                    k += 1
                }
                tokens.append(.name(String(String.UnicodeScalarView(s[i..<k]))))
                i = k
                continue
            }
            let two = i + 1 < s.count ? String(String.UnicodeScalarView([c, s[i + 1]])) : ""
            if ["==", "!=", "<=", ">=", "//", "**"].contains(two) {
                tokens.append(.op(two))
                i += 2
                continue
            }
            if "+-*/%~<>()[]{}.,:|=".unicodeScalars.contains(c) {
                tokens.append(.op(String(c)))
                i += 1
                continue
            }
            throw TokenizerError.template("unexpected character '\(c)' in tag")
        }
        throw TokenizerError.template("unterminated tag")
    }
}
