/// Code out of a chat model's answer: Markdown fences, language tags, prose around the code.
public enum CodeExtraction {
    /// A fenced block: its info string (language tag) and body.
    struct Block {
        var info: String
        var body: String
    }

    /// True when `text` has a line opening a fence (```), where a chat answer's code would be.
    public static func hasFence(_ text: String) -> Bool { !blocks(in: text).isEmpty }

    /// The code in `answer`.
    ///
    /// Without a fence the answer is taken as code. With fences, in order of preference: the first Python
    /// (or untagged) block defining `entryPoint`; the first Python or untagged block with a `def` or
    /// `class`; the first Python or untagged block; the first block. A last fence left open (an answer
    /// cut off by the token limit) runs to the end of the text.
    public static func code(fromAnswer answer: String, entryPoint: String?) -> String {
        let found = blocks(in: answer)
        guard !found.isEmpty else { return answer }
        let python = found.filter { isPython($0.info) }
        if let entryPoint, let block = python.first(where: { defines($0.body, function: entryPoint) }) {
            return block.body
        }
        if let block = python.first(where: { $0.body.contains("def ") || $0.body.contains("class ") }) {
            return block.body
        }
        return (python.first ?? found[0]).body
    }

    static func isPython(_ info: String) -> Bool {
        let tag = info.split(separator: " ").first.map { $0.lowercased() } ?? ""
        return tag.isEmpty || tag == "python" || tag == "py" || tag == "python3"
    }

    /// Fenced blocks: a line starting with ``` (after up to three spaces) opens one, the next such line closes it.
    static func blocks(in text: String) -> [Block] {
        var result: [Block] = []
        var open: (info: String, lines: [Substring])?
        for line in lines(of: text) {
            let trimmed = line.drop { $0 == " " }
            let isFence = line.count - trimmed.count <= 3 && trimmed.hasPrefix("```")
            if var block = open {
                if isFence {
                    result.append(Block(info: block.info, body: block.lines.joined(separator: "\n") + "\n"))
                    open = nil
                } else {
                    block.lines.append(line)
                    open = block
                }
            } else if isFence {
                let info = String(trimmed.dropFirst(3).drop { $0 == " " || $0 == "\t" })
                open = (info, [])
            }
        }
        if let block = open, !block.lines.isEmpty {
            result.append(Block(info: block.info, body: block.lines.joined(separator: "\n") + "\n"))
        }
        return result
    }

    /// Lines split at "\n" and "\r\n" (one `Character` in Swift, so a plain split on "\n" would miss it).
    static func lines(of text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
    }

    /// True when `code` has a top-level `def function(` (or `async def`).
    public static func defines(_ code: String, function: String) -> Bool {
        guard !function.isEmpty else { return false }
        for line in lines(of: code) {
            var rest = Substring(line)
            if rest.hasPrefix("async ") { rest = rest.dropFirst(6).drop { $0 == " " } }
            guard rest.hasPrefix("def ") else { continue }
            rest = rest.dropFirst(4).drop { $0 == " " }
            if rest.hasPrefix(function) && rest.dropFirst(function.count).drop(while: { $0 == " " }).hasPrefix("(") {
                return true
            }
        }
        return false
    }

    /// The top-level `import` and `from … import` lines of `code`, each followed by a newline.
    public static func imports(of code: String) -> String {
        lines(of: code).filter { $0.hasPrefix("import ") || $0.hasPrefix("from ") }
            .map { $0 + "\n" }.joined()
    }
}
