import Foundation
import JSON

/// Trains a byte-level BPE tokenizer (GPT-2's byte alphabet, SmolLM's pre-tokenizer: single digits, then
/// GPT-2's split) on a corpus, and writes it as a `tokenizer.json` that `Tokenizer` and Hugging Face
/// `tokenizers` load, plus a `tokenizer_config.json` with a ChatML chat template.
///
/// Training, as `tokenizers`' `BpeTrainer` does it:
/// 1. special tokens take the first ids, the 256 bytes the next ones, so any text can be encoded;
/// 2. each text is split by the special tokens and the pre-tokenizer; pieces are counted as words;
/// 3. the most frequent adjacent pair of tokens (ties: the smaller left token's bytes, then the right's)
///    is merged into a new token, and only the words holding it are recounted, until the vocabulary
///    reaches `vocabularySize` or no pair occurs `minimumFrequency` times.
public struct BPETrainer: Sendable {
    /// The size the vocabulary grows to (special tokens and the 256 bytes included).
    public var vocabularySize = 1024
    /// A pair seen fewer times than this is never merged.
    public var minimumFrequency = 2
    /// Added tokens, ids 0… in this order; the ChatML template needs `<|im_start|>` and `<|im_end|>`.
    public var specialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

    /// The defaults: 1024 tokens, ChatML special tokens.
    public init() {}

    /// The pre-tokenizer written into tokenizer.json and used to split the corpus.
    static let preTokenizerJSON = """
        {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}, \
        {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]}
        """

    /// Trains on `texts` (each one document, e.g. a line of a corpus file).
    public func train(_ texts: [String]) throws -> TrainedBPE {
        guard specialTokens.count + 256 <= vocabularySize, vocabularySize <= 1 << 20 else {
            throw TokenizerError.malformed(
                file: "BPE trainer", path: "vocab_size",
                reason: "must lie in \(specialTokens.count + 256)...\(1 << 20), got \(vocabularySize)")
        }
        guard minimumFrequency >= 1 else {
            throw TokenizerError.malformed(file: "BPE trainer", path: "min_frequency", reason: "must be at least 1")
        }
        guard Set(specialTokens).count == specialTokens.count, !specialTokens.contains(where: \.isEmpty) else {
            throw TokenizerError.malformed(
                file: "BPE trainer", path: "special_tokens", reason: "must be distinct and non-empty")
        }
        let counts = try wordCounts(texts)
        var model = MergeState(specialCount: specialTokens.count, words: counts)
        while model.tokens.count + specialTokens.count < vocabularySize, model.mergeBest(minimum: minimumFrequency) {}
        return TrainedBPE(specialTokens: specialTokens, tokens: model.tokens, merges: model.merges)
    }

    /// Pieces of every text as UTF-8 words with their counts, in first-seen order.
    func wordCounts(_ texts: [String]) throws -> [(bytes: [UInt8], count: Int)] {
        let node = try JSONNode.parse(data: Data(Self.preTokenizerJSON.utf8), file: "BPE trainer")
        guard let preTokenizer = try makePreTokenizer(node) else { return [] }
        var index: [[UInt8]: Int] = [:]
        var words: [(bytes: [UInt8], count: Int)] = []
        for text in texts {
            var parts = [text]
            for special in specialTokens { parts = parts.flatMap { $0.components(separatedBy: special) } }
            for part in parts where !part.isEmpty {
                let scalars = Array(part.unicodeScalars)
                var normalized = NormalizedText(scalars, range: 0..<scalars.count)
                for piece in preTokenizer.split(&normalized, [0..<normalized.count]) where !piece.isEmpty {
                    var bytes: [UInt8] = []
                    for scalar in normalized.scalars[piece] { bytes += Array(String(scalar).utf8) }
                    if let at = index[bytes] {
                        words[at].count += 1
                    } else {
                        index[bytes] = words.count
                        words.append((bytes, 1))
                    }
                }
            }
        }
        return words
    }
}

/// The merge loop's state: words as token sequences, pair counts, and which words hold each pair.
struct MergeState {
    /// Token byte strings by id − specialCount (bytes 0–255 first).
    var tokens: [[UInt8]]
    var tokenIndex: [[UInt8]: Int32]
    /// (left, right) in merge order.
    var merges: [(Int32, Int32)] = []
    var words: [[Int32]]
    var counts: [Int]
    var pairCounts: [UInt64: Int] = [:]
    var pairWords: [UInt64: Set<Int>] = [:]

    init(specialCount: Int, words input: [(bytes: [UInt8], count: Int)]) {
        tokens = (0..<256).map { [UInt8($0)] }
        tokenIndex = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, Int32($0)) })
        words = input.map { $0.bytes.map { Int32($0) } }
        counts = input.map(\.count)
        for w in words.indices { add(word: w, sign: 1) }
    }

    static func key(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    mutating func add(word w: Int, sign: Int) {
        let symbols = words[w]
        guard symbols.count > 1 else { return }
        for i in 0..<(symbols.count - 1) {
            let k = Self.key(symbols[i], symbols[i + 1])
            pairCounts[k, default: 0] += sign * counts[w]
            if sign > 0 { pairWords[k, default: []].insert(w) }
        }
    }

    /// Whether `a` outranks `b`: more frequent, then smaller left bytes, then smaller right bytes.
    func better(_ a: (key: UInt64, count: Int), than b: (key: UInt64, count: Int)) -> Bool {
        if a.count != b.count { return a.count > b.count }
        let (al, ar) = (Int(a.key >> 32), Int(a.key & 0xFFFF_FFFF))
        let (bl, br) = (Int(b.key >> 32), Int(b.key & 0xFFFF_FFFF))
        if tokens[al] != tokens[bl] { return tokens[al].lexicographicallyPrecedes(tokens[bl]) }
        return tokens[ar].lexicographicallyPrecedes(tokens[br])
    }

    /// Merges the best pair; false when none is frequent enough.
    mutating func mergeBest(minimum: Int) -> Bool {
        var best: (key: UInt64, count: Int)?
        for (key, count) in pairCounts where count >= minimum {
            if best == nil || better((key, count), than: best!) { best = (key, count) }
        }
        guard let best else { return false }
        let left = Int32(truncatingIfNeeded: best.key >> 32), right = Int32(truncatingIfNeeded: best.key & 0xFFFF_FFFF)
        let bytes = tokens[Int(left)] + tokens[Int(right)]
        let merged: Int32
        if let existing = tokenIndex[bytes] {
            merged = existing
        } else {
            merged = Int32(tokens.count)
            tokens.append(bytes)
            tokenIndex[bytes] = merged
        }
        merges.append((left, right))
        for w in (pairWords[best.key] ?? []).sorted() {
            add(word: w, sign: -1)
            var symbols = words[w]
            var i = 0
            var out: [Int32] = []
            out.reserveCapacity(symbols.count)
            while i < symbols.count {
                if i + 1 < symbols.count, symbols[i] == left, symbols[i + 1] == right {
                    out.append(merged)
                    i += 2
                } else {
                    out.append(symbols[i])
                    i += 1
                }
            }
            symbols = out
            words[w] = symbols
            add(word: w, sign: 1)
        }
        pairCounts[best.key] = nil
        pairWords[best.key] = nil
        pairCounts = pairCounts.filter { $0.value > 0 }
        return true
    }
}
