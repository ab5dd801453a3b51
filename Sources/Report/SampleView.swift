import Foundation

/// Rollouts as HTML: the response with each token shaded by its reward (green positive, red negative, opacity by
/// magnitude relative to `scale`), tokens inside a critiqued span underlined, and the critique beside it.
struct SampleView {
    /// The |reward| drawn at full strength: the largest on the page, so shades compare across examples.
    var scale: Double
    /// Below this fraction of `scale` a token is drawn unshaded (class `zero`): KL noise, not a judgement.
    static let neutralFraction = 0.02
    static let positive = (22, 163, 74), negative = (220, 38, 38)

    init(samples: [RolloutSample]) {
        let largest = samples.flatMap { $0.tokens.compactMap(\.reward) }.map(abs).max() ?? 0
        scale = largest > 0 ? largest : 1
    }

    /// One token's class list and inline style: `tok pos|neg|zero`, `span-good|span-poor` when in a span.
    func shade(_ token: TokenFigures) -> (classes: String, style: String) {
        var classes = "tok", style = ""
        let r = token.reward ?? 0, strength = min(1, abs(r) / scale)
        if strength >= Self.neutralFraction {
            let (red, green, blue) = r > 0 ? Self.positive : Self.negative
            classes += r > 0 ? " pos" : " neg"
            style = "background-color:rgba(\(red),\(green),\(blue),\(String(format: "%.3f", 0.1 + 0.65 * strength)))"
        } else {
            classes += " zero"
        }
        if let s = token.spanScore, s != 0 { classes += s > 0 ? " span-good" : " span-poor" }
        return (classes, style)
    }

    /// The token's figures for its tooltip.
    static func tooltip(_ t: TokenFigures) -> String {
        var parts: [String] = []
        if let r = t.reward { parts.append("reward \(HTML.signed(r))") }
        if let s = t.score { parts.append("score \(HTML.signed(s))") }
        if let s = t.spanScore { parts.append("span score \(HTML.signed(s))") }
        if let k = t.kl { parts.append("KL \(HTML.short(k))") }
        if let a = t.advantage { parts.append("advantage \(HTML.signed(a))") }
        if let v = t.value { parts.append("value \(HTML.signed(v))") }
        if let id = t.id { parts.append("id \(id)") }
        return parts.isEmpty ? "no figures logged" : parts.joined(separator: " · ")
    }

    /// The response as shaded tokens, or as plain text when the sample carries no tokens that spell it.
    func response(_ sample: RolloutSample) -> String {
        guard !sample.tokens.isEmpty, sample.tokens.map(\.text).joined() == sample.response else {
            return "<div class=\"response plain\">\(HTML.escape(sample.response))</div>"
        }
        var out = "<div class=\"response\">"
        for token in sample.tokens {
            let (classes, style) = shade(token)
            out += "<span class=\"\(classes)\"" + (style.isEmpty ? "" : " style=\"\(style)\"")
            if let r = token.reward { out += " data-reward=\"\(HTML.exact(r))\"" }
            if let a = token.advantage { out += " data-advantage=\"\(HTML.exact(a))\"" }
            out += " title=\"\(HTML.escape(Self.tooltip(token)))\">\(HTML.escape(token.text))</span>"
        }
        return out + "</div>"
    }

    /// The critique and its quoted spans, or why there is none.
    func critique(_ sample: RolloutSample) -> String {
        var out = "<div class=\"critique\">"
        if let critique = sample.critique {
            out += "<p class=\"text\">\(HTML.escape(critique))</p>"
        } else if let failure = sample.critiqueFailure {
            out += "<p class=\"failure\">No usable critique: \(HTML.escape(failure))</p>"
            if let raw = sample.raw, !raw.isEmpty { out += "<pre class=\"raw\">\(HTML.escape(raw))</pre>" }
        } else {
            out += "<p class=\"failure\">No critique logged.</p>"
        }
        if !sample.spans.isEmpty {
            out += "<ul class=\"spans\">"
            for span in sample.spans {
                let kind = (span.score ?? 0) > 0 ? "good" : (span.score ?? 0) < 0 ? "poor" : "neutral"
                out += "<li class=\"\(kind)\"><span class=\"label\">\(HTML.escape(span.label))"
                if let score = span.score { out += " " + (score > 0 ? "+" : "") + compact(score) }
                out += "</span> “\(HTML.escape(span.text))”"
                if let match = span.match, match != "exact" {
                    out += " <span class=\"match\">\(HTML.escape(match))</span>"
                }
                out += "</li>"
            }
            out += "</ul>"
        }
        return out + "</div>"
    }

    /// A card: a heading line, the prompt (collapsed), and the response beside its critique.
    func card(_ sample: RolloutSample, heading: String? = nil, prompt: Bool = true) -> String {
        var facts = ["step \(sample.step)"]
        if !sample.id.isEmpty { facts.append("prompt \(sample.id)") }
        if let s = sample.sequenceScore { facts.append("sequence score \(HTML.short(s))") }
        if let m = sample.taskMetric { facts.append("task metric \(HTML.short(m))") }
        var out = "<article class=\"sample\" data-step=\"\(sample.step)\" data-id=\"\(HTML.escape(sample.id))\">"
        out += "<header>" + (heading.map { "<b>\(HTML.escape($0))</b> " } ?? "")
            + HTML.escape(facts.joined(separator: " · ")) + "</header>"
        if prompt, !sample.prompt.isEmpty {
            out += "<details class=\"prompt\"><summary>Prompt</summary><pre>\(HTML.escape(sample.prompt))</pre>"
                + "</details>"
        }
        out += "<div class=\"pair\">" + response(sample) + critique(sample) + "</div>"
        return out + "</article>"
    }

    /// The same prompt early and late in training: the first held-out prompt at the first and the last evaluation
    /// when the run logged evaluations; else the rollout id seen at the most distant steps, its first and last
    /// appearance; without a repeated id, the first sample of the first step and of the last.
    static func beforeAfter(_ samples: [RolloutSample]) -> (before: RolloutSample, after: RolloutSample)? {
        // Held-out responses to the same prompt at the first and last evaluation, when the run logged them.
        let evaluations = samples.filter { $0.split == "eval" }
        if let before = evaluations.min(by: { $0.step < $1.step }),
           let after = evaluations.filter({ $0.id == before.id }).max(by: { $0.step < $1.step }), after.step > before.step {
            return (before, after)
        }
        let samples = samples.filter { $0.split != "eval" }
        var first: [String: RolloutSample] = [:], last: [String: RolloutSample] = [:]
        for sample in samples where !sample.id.isEmpty {
            if first[sample.id].map({ sample.step < $0.step }) ?? true { first[sample.id] = sample }
            if last[sample.id].map({ sample.step > $0.step }) ?? true { last[sample.id] = sample }
        }
        let repeated = first.keys.filter { last[$0]!.step > first[$0]!.step }.sorted { a, b in
            let (da, db) = (last[a]!.step - first[a]!.step, last[b]!.step - first[b]!.step)
            return da != db ? da > db : (first[a]!.step, a) < (first[b]!.step, b)
        }
        if let id = repeated.first { return (first[id]!, last[id]!) }
        guard let lo = samples.map(\.step).min(), let hi = samples.map(\.step).max(), hi > lo else { return nil }
        return (samples.first { $0.step == lo }!, samples.first { $0.step == hi }!)
    }
}
