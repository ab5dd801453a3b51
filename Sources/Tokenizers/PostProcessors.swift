/// A `tokenizers` post-processor: adds special tokens and adjusts offsets of a finished encoding.
protocol PostProcessor: Sendable {
    func process(_ encoding: inout Encoding, addSpecialTokens: Bool)
}

/// Builds the post-processor described at `node` (a `post_processor` object of tokenizer.json).
func makePostProcessor(_ node: JSONNode) throws -> PostProcessor? {
    if node.isNull { return nil }
    switch try node.typeName() {
    case "Sequence":
        return SequenceProcessor(steps: try node["processors"].array().compactMap(makePostProcessor))
    case "ByteLevel":
        return ByteLevelProcessor(
            trimOffsets: try node["trim_offsets"].bool(default: true),
            addPrefixSpace: try node["add_prefix_space"].bool(default: true))
    case "TemplateProcessing":
        var specials: [String: [(Int, String)]] = [:]
        let specialNode = node["special_tokens"]
        for (name, entry) in try specialNode.members() {
            let ids = try entry["ids"].array().map { try $0.int() }
            let tokens = try entry["tokens"].array().map { try $0.string() }
            guard ids.count == tokens.count else { throw entry.malformed("ids and tokens differ in length") }
            specials[name] = Array(zip(ids, tokens))
        }
        var pieces: [TemplateProcessor.Piece] = []
        for item in try node["single"].array() {
            if !item["SpecialToken"].isNull {
                let name = try item["SpecialToken"]["id"].string()
                guard let tokens = specials[name] else {
                    throw item["SpecialToken"]["id"].malformed("\"\(name)\" is not in special_tokens")
                }
                pieces.append(.special(tokens))
            } else if !item["Sequence"].isNull {
                pieces.append(.sequence)
            } else {
                throw item.malformed("expected SpecialToken or Sequence")
            }
        }
        return TemplateProcessor(single: pieces)
    default:
        throw node["type"].unsupported()
    }
}

struct SequenceProcessor: PostProcessor {
    let steps: [PostProcessor]
    func process(_ encoding: inout Encoding, addSpecialTokens: Bool) {
        for step in steps { step.process(&encoding, addSpecialTokens: addSpecialTokens) }
    }
}

/// Trims the spaces a byte-level token starts or ends with out of its offsets (`trim_offsets`).
struct ByteLevelProcessor: PostProcessor {
    let trimOffsets: Bool
    let addPrefixSpace: Bool

    private static func isSpace(_ s: Unicode.Scalar) -> Bool { s == "\u{0120}" || s.properties.isWhitespace }

    func process(_ encoding: inout Encoding, addSpecialTokens: Bool) {
        guard trimOffsets else { return }
        for i in 0..<encoding.ids.count {
            let scalars = Array(encoding.tokens[i].unicodeScalars)
            var leading = 0
            while leading < scalars.count, ByteLevelProcessor.isSpace(scalars[leading]) { leading += 1 }
            var trailing = 0
            while trailing < scalars.count, ByteLevelProcessor.isSpace(scalars[scalars.count - 1 - trailing]) {
                trailing += 1
            }
            guard leading > 0 || trailing > 0 else { continue }
            var start = encoding.offsets[i].lowerBound
            var end = encoding.offsets[i].upperBound
            if leading > 0 {
                let isFirst = i == 0 || start == 0
                if isFirst, addPrefixSpace, leading == 1 { leading = 0 }
                start = min(start + leading, end)
            }
            if trailing > 0, end >= trailing { end = max(end - trailing, start) }
            encoding.offsets[i] = start..<end
        }
    }
}

/// `TemplateProcessing` for single sequences: special tokens around `$A`, with empty offsets.
struct TemplateProcessor: PostProcessor {
    enum Piece {
        case special([(Int, String)])
        case sequence
    }
    let single: [Piece]

    func process(_ encoding: inout Encoding, addSpecialTokens: Bool) {
        guard addSpecialTokens else { return }
        var out = Encoding(ids: [], tokens: [], offsets: [])
        for piece in single {
            switch piece {
            case .special(let tokens):
                for (id, token) in tokens { out.append(id: id, token: token, offset: 0..<0) }
            case .sequence:
                out.ids += encoding.ids
                out.tokens += encoding.tokens
                out.offsets += encoding.offsets
            }
        }
        encoding = out
    }
}
