extension Tokenizer {
    /// Encodes `text` as `tokenizers`' `Tokenizer.encode` does: added tokens are split out, the rest is
    /// normalized, pre-tokenized and run through BPE; `addSpecialTokens` applies the post-processor's
    /// template (BOS and the like). Offsets are Unicode scalar indices into `text` (see `Encoding`).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> Encoding {
        let scalars = Array(text.unicodeScalars)
        var encoding = Encoding(ids: [], tokens: [], offsets: [])
        encoding.ids.reserveCapacity(scalars.count / 3)
        encoding.tokens.reserveCapacity(scalars.count / 3)
        encoding.offsets.reserveCapacity(scalars.count / 3)
        var state = EncodeState()
        // 1. Added tokens that match the original text.
        for (range, token) in rawMatcher.split(scalars, 0..<scalars.count) {
            if let token {
                encoding.append(id: token.id, token: string(scalars[range]), offset: range)
                continue
            }
            // 2. Normalize the rest, then find the added tokens that match normalized text.
            var normalized = NormalizedText(scalars, range: range)
            if let normalizer { normalized = normalizer.normalize(normalized) }
            for (piece, token) in normalizedMatcher.split(normalized.scalars, 0..<normalized.count) {
                if let token {
                    encoding.append(
                        id: token.id, token: string(normalized.scalars[piece]),
                        offset: normalized.originalRange(piece))
                    continue
                }
                // 3. Pre-tokenize and run the model on each piece.
                var text = normalized
                var pieces = [piece]
                if let preTokenizer { pieces = preTokenizer.split(&text, pieces) }
                for p in pieces where !p.isEmpty { tokenize(text, p, into: &encoding, state: &state) }
            }
        }
        // 4. Post-process: offsets trimming, special tokens.
        postProcessor?.process(&encoding, addSpecialTokens: addSpecialTokens)
        return encoding
    }

    /// Encodes and returns only the ids.
    public func encodeIds(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        encode(text, addSpecialTokens: addSpecialTokens).ids
    }

    private func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    private func tokenize(
        _ text: NormalizedText, _ piece: Range<Int>, into encoding: inout Encoding,
        state: inout EncodeState
    ) {
        state.bytes.removeAll(keepingCapacity: true)
        state.byteScalar.removeAll(keepingCapacity: true)
        var k: Int32 = 0
        for s in text.scalars[piece] {
            let v = s.value
            if v < 0x80 {
                state.bytes.append(UInt8(v))
                state.byteScalar.append(k)
            } else {
                for b in Unicode.UTF8.encode(s)! {
                    state.bytes.append(b)
                    state.byteScalar.append(k)
                }
            }
            k += 1
        }
        let triples = model.tokenize(text.scalars[piece], utf8: state.bytes)
        var t = 0
        while t < triples.count {
            let id = Int(triples[t])
            var lo = Int(triples[t + 1])
            var hi = Int(triples[t + 2])
            if byteLevel, hi > lo {
                // Byte range → the scalars containing its first and last byte.
                lo = Int(state.byteScalar[lo])
                hi = Int(state.byteScalar[hi - 1]) + 1
            }
            let range = (piece.lowerBound + lo)..<(piece.lowerBound + hi)
            encoding.append(id: id, token: model.token(for: id) ?? "", offset: text.originalRange(range))
            t += 3
        }
    }

    /// Decodes ids as `tokenizers`' `decode` does (no clean-up of tokenization spaces); unknown ids are
    /// skipped, and special added tokens too when `skipSpecialTokens` is true.
    /// The raw bytes one token stands for, as OpenAI's logprobs `bytes` report them: a byte-level or byte-fallback
    /// token that holds part of a UTF-8 character gives that part, not the replacement character's bytes.
    public func tokenBytes(_ id: Int) -> [UInt8] {
        if let added = addedById[id] { return Array(added.content.utf8) }
        guard let token = model.token(for: id) else { return [] }
        if byteLevel, let bytes = ByteLevelAlphabet.bytes(of: token) { return bytes }
        if model.byteFallback, let byte = ByteFallbackDecoder.byte(of: token) { return [byte] }
        return Array(decode([id]).utf8)
    }

    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let added = addedById[id] {
                if skipSpecialTokens, added.special { continue }
                tokens.append(added.content)
            } else if let token = model.token(for: id) {
                tokens.append(token)
            }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }
}

/// Scratch buffers reused across the pieces of one `encode` call.
struct EncodeState {
    var bytes: [UInt8] = []
    var byteScalar: [Int32] = []
}
