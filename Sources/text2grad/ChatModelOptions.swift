import ArgumentParser
import Foundation
import Models
import Tensor
import Tokenizers

/// `--model DIR [--adapter DIR]`, shared by the commands that generate: a model, its tokenizer and an adapter.
struct ChatModelOptions: ParsableArguments {
    @Option(help: "A Hugging Face model directory (config.json, safetensors, tokenizer.json).")
    var model: String?

    @Option(help: "A LoRA adapter directory (PEFT format) to apply.")
    var adapter: String?

    @Option(help: "Precision of the matrices decoding reads: auto (bf16 when the checkpoint stores bf16), bf16, fp32.")
    var weights: DecodePrecision = .auto

    /// The model, with the adapter folded into the weights (decoding then costs what the base model costs),
    /// and the tokenizer from the model directory.
    func load() throws -> (LlamaModel, Tokenizer) {
        // Optional only so that `serve --teacher` can do without a model; everything else needs one.
        guard let model else { throw ValidationError("--model is required") }
        return try Self.load(model: model, adapter: adapter, weights: weights)
    }

    /// `load()` for a model directory and an optional adapter given some other way.
    /// The bf16 copies, when `weights` asks for them, are made after the adapter is merged.
    static func load(model: String, adapter: String?, weights: DecodePrecision = .auto) throws -> (LlamaModel, Tokenizer) {
        let lm = try LlamaModel(directory: model)
        if let adapter {
            lm.weights.merge(try LoRAAdapter.load(directory: adapter, config: lm.config))
        }
        lm.useDecodePrecision(weights)
        return (lm, try Tokenizer.load(directory: URL(fileURLWithPath: model)))
    }
}

extension DecodePrecision: ExpressibleByArgument {}
extension ProductPrecision: ExpressibleByArgument {}
