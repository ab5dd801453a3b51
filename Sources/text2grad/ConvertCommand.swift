import ArgumentParser
import Foundation
import GGUF
import GGUFConversion
import SafeTensors

/// `text2grad convert`: GGUF files ↔ Hugging Face model directories.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert between llama.cpp's GGUF files and Hugging Face model directories.",
        discussion: """
            Llama-family models only (general.architecture llama or qwen2; model_type llama, mistral or qwen2) with a
            byte-level BPE tokenizer. A GGUF file can also be given directly wherever --model takes a directory: it is
            converted once into \(GGUFModelCache.defaultRoot) (TEXT2GRAD_CACHE moves it).
            """,
        subcommands: [FromGGUF.self, ToGGUF.self])

    /// `convert gguf FILE -o DIR`.
    struct FromGGUF: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gguf",
            abstract: "A GGUF file to a Hugging Face model directory (weights dequantized to fp32 or bf16).",
            discussion: """
                Writes config.json, generation_config.json, model.safetensors, tokenizer.json and \
                tokenizer_config.json (with the chat template). Q/K rows are put back in Hugging Face's order. \
                Tensor types read: \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")).
                """)

        @Argument(help: "The GGUF file.") var file: String
        @Option(name: [.short, .long], help: "Output model directory.") var output: String
        @Option(help: "Weights in model.safetensors: fp32 or bf16.") var dtype: String = "fp32"

        func validate() throws {
            guard ["fp32", "bf16"].contains(dtype) else { throw ValidationError("--dtype must be fp32 or bf16") }
        }

        func run() throws {
            let summary = try GGUFImport.convert(gguf: file, to: output, dtype: dtype == "bf16" ? .bf16 : .f32)
            let types = summary.tensorTypes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            note("convert: \(summary.config.modelType), \(summary.parameterCount) parameters "
                 + "(\(types.joined(separator: ", "))) → \(output)")
        }
    }

    /// `convert hf DIR -o FILE.gguf --type q8_0`.
    struct ToGGUF: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hf",
            abstract: "A Hugging Face model directory to one GGUF file that llama.cpp runs.",
            discussion: """
                Matrices are stored as --type (a matrix whose rows are not whole blocks of 32 falls back to f16 under \
                q8_0), norms and biases as f32; the tokenizer and chat template go into the metadata.
                """)

        @Argument(help: "The model directory.") var directory: String
        @Option(name: [.short, .long], help: "Output GGUF file.") var output: String
        @Option(help: "Type of the matrices: f32, f16, bf16 or q8_0.") var type: String = "f16"

        func validate() throws {
            guard let parsed = GGMLType(name: type), GGMLType.writable.contains(parsed) else {
                throw ValidationError("--type must be f32, f16, bf16 or q8_0")
            }
        }

        func run() throws {
            try GGUFExport.convert(directory: directory, to: output, type: GGMLType(name: type) ?? .f16)
            note("convert: \(directory) → \(output) (\(type))")
        }
    }
}
