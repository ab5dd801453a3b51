import ArgumentParser
import Common
import Foundation
import JSON
import Training
import Models
import Tokenizers

/// `text2grad init-model`: a randomly initialised Hugging Face model directory of a named shape or config.
struct InitModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-model",
        abstract: "Write a randomly initialised model directory (config, safetensors, tokenizer, chat template).",
        discussion: """
            The weights are drawn as transformers initialises a new model: normal(0, --std) matrices and
            embeddings, norms 1 (stored as 0 for Gemma 3, whose norm weights are offsets from 1), biases 0; the
            same --seed writes the same bytes. Any supported model_type may be the --config's. vocab_size and the special
            token ids come from the tokenizer (a --config may state a larger, padded vocabulary). A tokenizer
            without a chat template gets ChatML when it has <|im_start|> and <|im_end|>, or --chat-template.
            Shapes: \(LlamaConfig.namedShapes.keys.sorted().joined(separator: ", ")).
            """)

    @Option(help: "A named shape.")
    var shape: String?

    @Option(help: "A config.json to take the shape from instead.")
    var config: String?

    @Option(help: "A directory with tokenizer.json (and tokenizer_config.json), e.g. from train-tokenizer.")
    var tokenizer: String

    @Option(help: "A Jinja chat template file, replacing the tokenizer's.")
    var chatTemplate: String?

    @Option(name: [.short, .long], help: "Output model directory.")
    var output: String

    @Option(help: "Seed of the weights.")
    var seed: UInt64 = 0

    @Option(help: "Standard deviation of the weights (transformers' initializer_range).")
    var std: Float = 0.02

    @Flag(help: "Replace a model already in the output directory.")
    var overwrite = false

    func validate() throws {
        guard (shape == nil) != (config == nil) else {
            throw ValidationError("give exactly one of --shape and --config")
        }
        if let shape, LlamaConfig.namedShapes[shape] == nil {
            let known = LlamaConfig.namedShapes.keys.sorted().joined(separator: ", ")
            throw ValidationError("unknown --shape \(shape) (known: \(known))")
        }
        guard std.isFinite, std > 0, std < 1 else { throw ValidationError("--std must lie in (0, 1)") }
        if !overwrite, FileManager.default.fileExists(atPath: output + "/model.safetensors") {
            throw ValidationError("\(output) already holds a model (use --overwrite)")
        }
    }

    func run() throws {
        var template: String?
        if let chatTemplate {
            template = try InputFile.text(path: chatTemplate)
        }
        let base: JSONValue
        if let config {
            guard let data = try? InputFile.read(path: config), let object = try? JSONValue.parse([UInt8](data)),
                  object.objectValue != nil
            else { throw ValidationError("--config \(config) is not a readable JSON object") }
            base = object
        } else {
            base = try RandomModel.shapeObject(shape!)
        }
        let (written, parameters) = try ModelFiles.initialize(
            base: base, tokenizer: tokenizer, chatTemplate: template, output: output, seed: seed, std: std,
            keepLargerVocabulary: config != nil)
        let millions = String(format: "%.2f", Double(parameters) / 1e6)
        note("wrote \(output): \(written.layerCount) layers, hidden \(written.hiddenSize), "
            + "vocabulary \(written.vocabSize), \(parameters) parameters (\(millions) M)")
    }
}
