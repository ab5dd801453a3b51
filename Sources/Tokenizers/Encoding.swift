/// The result of `Tokenizer.encode`: ids, token strings and where each token came from.
///
/// `offsets[i]` is the `[start, end)` range of Unicode scalars of the input `String` behind token `i`
/// (the unit Python's `str` indexes, and what Hugging Face `tokenizers` reports); special tokens added
/// by the post-processor have empty `0..<0` offsets. Tokens that share one multi-byte character (a
/// byte-level split of an emoji, `<0xNN>` fallback bytes) each report that whole character.
public struct Encoding: Equatable, Sendable {
    /// Token ids.
    public var ids: [Int]
    /// Token strings as in the vocabulary (an added token with lstrip/rstrip includes the stripped spaces).
    public var tokens: [String]
    /// Per-token `[start, end)` offsets in Unicode scalars of the input.
    public var offsets: [Range<Int>]

    /// An encoding from parallel arrays.
    public init(ids: [Int], tokens: [String], offsets: [Range<Int>]) {
        self.ids = ids
        self.tokens = tokens
        self.offsets = offsets
    }

    mutating func append(id: Int, token: String, offset: Range<Int>) {
        ids.append(id)
        tokens.append(token)
        offsets.append(offset)
    }

    /// Number of tokens.
    public var count: Int { ids.count }
}
