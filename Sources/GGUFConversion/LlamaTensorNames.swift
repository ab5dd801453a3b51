/// How llama.cpp names the tensors of a Llama-family model, and the row order it stores q and k in.
///
/// llama.cpp's `llama` architecture rotates interleaved pairs (x0, x1), (x2, x3)… while Hugging Face's Llama rotates
/// the two halves of each head, so convert_hf_to_gguf.py permutes the rows of q_proj and k_proj (weights and biases)
/// head by head: Hugging Face row i·HS/2 + j of a head (half i ∈ {0, 1}, j < HS/2) becomes row 2j + i.
/// `qwen2` uses the halves (NEOX) order itself, so its rows are stored as they are.
enum LlamaTensorNames {
    /// (llama.cpp suffix inside `blk.N.`, Hugging Face suffix inside `model.layers.N.`).
    static let layerPairs: [(gguf: String, hf: String)] = [
        ("attn_norm.weight", "input_layernorm.weight"),
        ("attn_q.weight", "self_attn.q_proj.weight"), ("attn_q.bias", "self_attn.q_proj.bias"),
        ("attn_k.weight", "self_attn.k_proj.weight"), ("attn_k.bias", "self_attn.k_proj.bias"),
        ("attn_v.weight", "self_attn.v_proj.weight"), ("attn_v.bias", "self_attn.v_proj.bias"),
        ("attn_output.weight", "self_attn.o_proj.weight"), ("attn_output.bias", "self_attn.o_proj.bias"),
        ("ffn_norm.weight", "post_attention_layernorm.weight"),
        ("ffn_gate.weight", "mlp.gate_proj.weight"), ("ffn_gate.bias", "mlp.gate_proj.bias"),
        ("ffn_up.weight", "mlp.up_proj.weight"), ("ffn_up.bias", "mlp.up_proj.bias"),
        ("ffn_down.weight", "mlp.down_proj.weight"), ("ffn_down.bias", "mlp.down_proj.bias"),
    ]

    static let globalPairs: [(gguf: String, hf: String)] = [
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("output.weight", "lm_head.weight"),
    ]

    /// The Hugging Face name of a llama.cpp tensor name, or nil when it is not one of a Llama's.
    static func hfName(_ name: String) -> String? {
        if let pair = globalPairs.first(where: { $0.gguf == name }) { return pair.hf }
        guard name.hasPrefix("blk.") else { return nil }
        let rest = name.dropFirst(4)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0,
              String(layer) == rest[..<dot] else { return nil }
        let suffix = String(rest[rest.index(after: dot)...])
        return layerPairs.first { $0.gguf == suffix }.map { "model.layers.\(layer).\($0.hf)" }
    }

    /// The llama.cpp name of a Hugging Face tensor name, or nil.
    static func ggufName(_ name: String) -> String? {
        if let pair = globalPairs.first(where: { $0.hf == name }) { return pair.gguf }
        let prefix = "model.layers."
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return nil }
        let suffix = String(rest[rest.index(after: dot)...])
        return layerPairs.first { $0.hf == suffix }.map { "blk.\(layer).\($0.gguf)" }
    }

    /// The number of heads whose rows are interleaved in a q or k tensor (HF name), or nil for any other tensor.
    static func permutedHeads(_ hfName: String, headCount: Int, kvHeadCount: Int) -> Int? {
        if hfName.hasSuffix("q_proj.weight") || hfName.hasSuffix("q_proj.bias") { return headCount }
        if hfName.hasSuffix("k_proj.weight") || hfName.hasSuffix("k_proj.bias") { return kvHeadCount }
        return nil
    }

    /// Rows in llama.cpp's interleaved order → Hugging Face's halves order, for `heads` heads of `rows / heads`
    /// rows of `columns` values each (the inverse of convert_hf_to_gguf.py's `LlamaModel.permute`).
    static func unpermute(_ x: [Float], heads: Int, rows: Int, columns: Int) -> [Float] {
        reorder(x, heads: heads, rows: rows, columns: columns, toInterleaved: false)
    }

    /// Hugging Face's halves order → llama.cpp's interleaved order (`LlamaModel.permute`).
    static func permute(_ x: [Float], heads: Int, rows: Int, columns: Int) -> [Float] {
        reorder(x, heads: heads, rows: rows, columns: columns, toInterleaved: true)
    }

    private static func reorder(_ x: [Float], heads: Int, rows: Int, columns: Int, toInterleaved: Bool) -> [Float] {
        precondition(heads > 0 && rows % (2 * heads) == 0 && x.count == rows * columns, "rows do not split into heads")
        let headRows = rows / heads, half = headRows / 2
        var out = [Float](repeating: 0, count: x.count)
        for h in 0..<heads {
            for i in 0..<2 {
                for j in 0..<half {
                    let halves = h * headRows + i * half + j, interleaved = h * headRows + 2 * j + i
                    let (from, to) = toInterleaved ? (halves, interleaved) : (interleaved, halves)
                    for c in 0..<columns { out[to * columns + c] = x[from * columns + c] }
                }
            }
        }
        return out
    }
}
