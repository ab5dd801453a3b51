/// Precision, recall and F1 of one ROUGE variant.
public struct RougeScore: Sendable, Equatable, Codable {
    /// Matches over the prediction's n-grams (or tokens).
    public var precision: Double
    /// Matches over the reference's n-grams (or tokens).
    public var recall: Double
    /// Harmonic mean of precision and recall; 0 when both are 0.
    public var fmeasure: Double

    /// Creates a score.
    public init(precision: Double, recall: Double, fmeasure: Double) {
        self.precision = precision
        self.recall = recall
        self.fmeasure = fmeasure
    }

    /// The score of `precision` and `recall`, with rouge-score's F1 arithmetic.
    init(precision: Double, recall: Double) {
        self.init(
            precision: precision, recall: recall,
            fmeasure: precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0)
    }

    static let zero = RougeScore(precision: 0, recall: 0, fmeasure: 0)
}

/// The ROUGE variants rouge-score computes: n-gram overlap, LCS, and summary-level LCS over lines.
public enum RougeType: Hashable, Sendable, CustomStringConvertible {
    /// ROUGE-N over n-grams (n ≥ 1).
    case n(Int)
    /// ROUGE-L: the longest common subsequence of the two token sequences.
    case l
    /// ROUGE-Lsum: union LCS of each reference line against every prediction line (lines split at "\n").
    case lsum

    /// rouge-score's name: `rouge1`, `rouge2`, `rougeL`, `rougeLsum`.
    public var description: String {
        switch self {
        case .n(let n): return "rouge\(n)"
        case .l: return "rougeL"
        case .lsum: return "rougeLsum"
        }
    }

    /// ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum, the set papers report.
    public static let standard: [RougeType] = [.n(1), .n(2), .l, .lsum]
}

/// rouge-score's tokenizer: lower-case, every run of characters other than `[a-z0-9]` is a separator,
/// and (with a stemmer) tokens longer than three characters are stemmed.
public struct RougeTokenizer: Sendable {
    /// The Porter stemmer when `use_stemmer` is on.
    public let stemmer: PorterStemmer?

    /// Creates the tokenizer; `stemming` is rouge-score's `use_stemmer`.
    public init(stemming: Bool) {
        stemmer = stemming ? PorterStemmer() : nil
    }

    /// The tokens of `text`.
    ///
    /// Python lower-cases the whole text before the `[^a-z0-9]+` substitution, so a non-ASCII character
    /// whose lower-case mapping holds ASCII letters (İ → "i̇", the Kelvin sign → "k") contributes them;
    /// every other character only separates tokens.
    public func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            guard !current.isEmpty else { return }
            let token = String(current)
            current = String.UnicodeScalarView()
            if let stemmer, token.unicodeScalars.count > 3 {
                let stemmed = stemmer.stem(token)
                if !stemmed.isEmpty && stemmed.unicodeScalars.allSatisfy(Self.isTokenScalar) { tokens.append(stemmed) }
            } else {
                tokens.append(token)
            }
        }
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                let lowered = scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(scalar.value + 32)! : scalar
                if Self.isTokenScalar(lowered) { current.append(lowered) } else { flush() }
                continue
            }
            for lowered in scalar.properties.lowercaseMapping.unicodeScalars {
                if Self.isTokenScalar(lowered) { current.append(lowered) } else { flush() }
            }
        }
        flush()
        return tokens
    }

    static func isTokenScalar(_ s: Unicode.Scalar) -> Bool {
        (s.value >= 0x61 && s.value <= 0x7A) || (s.value >= 0x30 && s.value <= 0x39)
    }
}

/// ROUGE exactly as Google's `rouge-score` `RougeScorer` computes it (`score(target, prediction)` and
/// `score_multi`), with or without its Porter stemmer.
public struct RougeScorer: Sendable {
    /// The variants computed by `score`.
    public let types: [RougeType]
    /// The tokenizer (stemming or not).
    public let tokenizer: RougeTokenizer

    /// Creates a scorer; `stemming` is rouge-score's `use_stemmer`.
    public init(types: [RougeType] = RougeType.standard, stemming: Bool = false) {
        for type in types { if case .n(let n) = type { precondition(n > 0, "ROUGE-N needs n ≥ 1") } }
        self.types = types
        tokenizer = RougeTokenizer(stemming: stemming)
    }

    /// Every variant of `prediction` against one reference.
    public func score(prediction: String, reference: String) -> [RougeType: RougeScore] {
        var vocabulary = Vocabulary()
        let target = vocabulary.ids(tokenizer.tokenize(reference))
        let candidate = vocabulary.ids(tokenizer.tokenize(prediction))
        var result: [RougeType: RougeScore] = [:]
        for type in types {
            switch type {
            case .n(let n):
                result[type] = Self.ngramScore(Self.ngrams(target, n), Self.ngrams(candidate, n))
            case .l:
                result[type] = Self.lcsScore(target, candidate)
            case .lsum:
                let targetLines = Self.lines(reference).map { vocabulary.ids(tokenizer.tokenize($0)) }
                let candidateLines = Self.lines(prediction).map { vocabulary.ids(tokenizer.tokenize($0)) }
                result[type] = Self.summaryLCSScore(targetLines, candidateLines)
            }
        }
        return result
    }

    /// Against several references: per variant, the reference with the highest F1 (the first on ties),
    /// as `score_multi` does.
    public func score(prediction: String, references: [String]) -> [RougeType: RougeScore] {
        precondition(!references.isEmpty, "ROUGE needs at least one reference")
        let each = references.map { score(prediction: prediction, reference: $0) }
        var best: [RougeType: RougeScore] = [:]
        for type in types {
            var chosen = each[0][type]!
            for scores in each.dropFirst() where scores[type]!.fmeasure > chosen.fmeasure { chosen = scores[type]! }
            best[type] = chosen
        }
        return best
    }

    // MARK: - The arithmetic (token ids stand for tokens: equal ids are equal strings)

    struct Vocabulary {
        var table: [String: Int] = [:]

        mutating func ids(_ tokens: [String]) -> [Int] {
            tokens.map { token in
                if let id = table[token] { return id }
                table[token] = table.count
                return table.count - 1
            }
        }
    }

    /// rouge-score splits at "\n" only (not "\r" or other line breaks) and drops empty lines.
    static func lines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: true).map { String($0) }
    }

    static func ngrams(_ tokens: [Int], _ n: Int) -> [[Int]: Int] {
        var counts: [[Int]: Int] = [:]
        guard tokens.count >= n else { return counts }
        for start in 0...(tokens.count - n) { counts[Array(tokens[start..<(start + n)]), default: 0] += 1 }
        return counts
    }

    static func ngramScore(_ target: [[Int]: Int], _ prediction: [[Int]: Int]) -> RougeScore {
        var overlap = 0
        for (gram, count) in target { overlap += min(count, prediction[gram] ?? 0) }
        let targetTotal = target.values.reduce(0, +)
        let predictionTotal = prediction.values.reduce(0, +)
        return RougeScore(
            precision: Double(overlap) / Double(max(predictionTotal, 1)),
            recall: Double(overlap) / Double(max(targetTotal, 1)))
    }

    /// The LCS table, (rows + 1) × (cols + 1) in one array, row-major.
    static func lcsTable(_ ref: [Int], _ can: [Int]) -> [Int] {
        let cols = can.count + 1
        var table = [Int](repeating: 0, count: (ref.count + 1) * cols)
        for i in stride(from: 1, through: ref.count, by: 1) {
            for j in stride(from: 1, through: can.count, by: 1) {
                table[i * cols + j] =
                    ref[i - 1] == can[j - 1]
                    ? table[(i - 1) * cols + j - 1] + 1 : max(table[(i - 1) * cols + j], table[i * cols + j - 1])
            }
        }
        return table
    }

    static func lcsScore(_ target: [Int], _ prediction: [Int]) -> RougeScore {
        guard !target.isEmpty, !prediction.isEmpty else { return .zero }
        let length = lcsTable(target, prediction).last!
        return RougeScore(
            precision: Double(length) / Double(prediction.count), recall: Double(length) / Double(target.count))
    }

    /// Indices into `ref` of one LCS, read back as rouge-score reads it (ties move up, not left).
    static func lcsIndices(_ ref: [Int], _ can: [Int]) -> [Int] {
        let table = lcsTable(ref, can)
        let cols = can.count + 1
        var i = ref.count
        var j = can.count
        var indices: [Int] = []
        while i > 0 && j > 0 {
            if ref[i - 1] == can[j - 1] {
                indices.append(i - 1)
                i -= 1
                j -= 1
            } else if table[i * cols + j - 1] > table[(i - 1) * cols + j] {
                j -= 1
            } else {
                i -= 1
            }
        }
        return indices.reversed()
    }

    /// Summary-level LCS (ROUGE paper §3.2) with ROUGE-1.5.5's guard against counting a token twice.
    static func summaryLCSScore(_ references: [[Int]], _ candidates: [[Int]]) -> RougeScore {
        guard !references.isEmpty, !candidates.isEmpty else { return .zero }
        let m = references.reduce(0) { $0 + $1.count }
        let n = candidates.reduce(0) { $0 + $1.count }
        guard m > 0, n > 0 else { return .zero }
        var referenceCounts: [Int: Int] = [:]
        var candidateCounts: [Int: Int] = [:]
        for line in references { for token in line { referenceCounts[token, default: 0] += 1 } }
        for line in candidates { for token in line { candidateCounts[token, default: 0] += 1 } }
        var hits = 0
        for reference in references {
            var union = Set<Int>()
            for candidate in candidates { union.formUnion(lcsIndices(reference, candidate)) }
            for index in union.sorted() {
                let token = reference[index]
                if candidateCounts[token, default: 0] > 0 && referenceCounts[token, default: 0] > 0 {
                    hits += 1
                    candidateCounts[token]! -= 1
                    referenceCounts[token]! -= 1
                }
            }
        }
        return RougeScore(precision: Double(hits) / Double(n), recall: Double(hits) / Double(m))
    }
}
