import Foundation

/// Text into HTML and numbers into text. Everything from a run (model output, critiques, prompts, ids, file
/// names, config values, metric names) passes through `escape` before it reaches the page.
public enum HTML {
    /// The text with `& < > " '` as entities and C0 control characters (other than tab, newline, return) as
    /// U+FFFD, safe both between tags and inside a quoted attribute.
    public static func escape(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            case "\t", "\n", "\r": out.append(scalar)
            default:
                out.append(scalar.value < 0x20 || scalar.value == 0x7F ? "\u{FFFD}" : scalar)
            }
        }
        return String(out)
    }

    /// The shortest text that reads back as the same Double (what `data-*` attributes carry: equal to the file's).
    public static func exact(_ x: Double) -> String { x.description }

    /// Four significant digits, for tables and tooltips.
    public static func short(_ x: Double) -> String { String(format: "%.4g", x) }

    /// Signed with three decimals, for per-token figures.
    public static func signed(_ x: Double) -> String { String(format: "%+.3f", x) }

    /// An optional figure, or an en dash.
    public static func short(_ x: Double?) -> String { x.map { short($0) } ?? "–" }
}

/// The colour of each reward mode's curves; the same mode has the same colour everywhere on the page.
enum Palette {
    static let fixed = ["token": "#2563eb", "scalar": "#ea580c"]
    static let others = ["#7c3aed", "#059669", "#db2777", "#525252"]

    /// Colours for groups in order: the first token group blue, the first scalar group orange, the others (other
    /// modes, other critics' groups) from a fixed list.
    static func colors(_ groups: [RunGroup]) -> [String] {
        var next = 0, used: Set<String> = []
        return groups.map { group in
            if let color = fixed[group.mode], !used.contains(group.mode) {
                used.insert(group.mode)
                return color
            }
            defer { next += 1 }
            return others[next % others.count]
        }
    }
}

/// Evenly spaced round numbers (1, 2, 2.5 or 5 × 10ᵏ apart) covering [lo, hi], about `count` of them; just the
/// two ends when the range is too wide or too narrow for round numbers (the figures come from a file).
func niceTicks(_ lo: Double, _ hi: Double, count: Int, integral: Bool = false) -> (ticks: [Double], step: Double) {
    precondition(count > 0, "ticks need a count")
    let raw = (hi - lo) / Double(count)
    let magnitude = pow(10, (log10(raw)).rounded(.down))
    var step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw * 0.999 } ?? 10 * magnitude
    if integral { step = max(1, step.rounded(.up)) }
    let first = (lo / step).rounded(.up) * step
    let span = ((hi - first) / step + 1e-9).rounded(.down)
    guard raw.isFinite, raw > 0, step.isFinite, step > 0, first.isFinite, span.isFinite, span <= Double(4 * count + 4)
    else { return (lo.isFinite && hi.isFinite ? [lo, hi] : [], max(abs(hi - lo), .leastNormalMagnitude)) }
    return (span >= 0 ? (0...Int(span)).map { first + Double($0) * step } : [], step)
}

/// A tick's label with as many decimals as the spacing needs.
func tickLabel(_ value: Double, step: Double) -> String {
    if abs(value) >= 1e5 || (step < 1e-4 && value != 0) { return String(format: "%.2g", value) }
    // The fewest decimals that write the spacing itself exactly (0.25 → 2, 5 → 0).
    let decimals = (0...6).first { d in
        let scaled = step * pow(10, Double(d))
        return abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled)
    } ?? 6
    let text = String(format: "%.\(decimals)f", value)
    return text == "-0" || text.hasPrefix("-0.") && Double(text) == 0 ? String(text.dropFirst()) : text
}

/// A coordinate with one decimal (the page is drawn in a 1/10-pixel grid).
func coordinate(_ x: Double) -> String { String(format: "%.1f", x) }
