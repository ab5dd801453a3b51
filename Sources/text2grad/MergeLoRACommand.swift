import ArgumentParser
import Foundation
import Models
import RewardModel

/// `text2grad merge-lora`: folds a PEFT LoRA adapter into its base model and writes a plain Hugging Face model.
struct MergeLoRA: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-lora",
        abstract: "Merge a LoRA adapter (PEFT format) into its base model; writes a Hugging Face model directory.")

    @Option(help: "Base model directory.") var model: String
    @Option(help: "Adapter directory (adapter_config.json + adapter_model.safetensors).") var adapter: String
    @Option(name: [.short, .long], help: "Output model directory.") var output: String

    func run() throws {
        let base = try LlamaModel(directory: model)
        let lora = try LoRAAdapter.load(directory: adapter, config: base.config)
        base.weights.merge(lora)
        try base.weights.save(directory: output)
        let fm = FileManager.default
        // Everything but the weights (config, tokenizer, generation config) is copied as it is.
        for name in try fm.contentsOfDirectory(atPath: model)
        where !name.hasSuffix(".safetensors") && name != "model.safetensors.index.json" {
            let target = output + "/" + name
            try? fm.removeItem(atPath: target)
            try fm.copyItem(atPath: model + "/" + name, toPath: target)
        }
        // A reward model's answer format travels with its adapter into the merged model.
        if fm.fileExists(atPath: adapter + "/" + RewardModelInfo.fileName) {
            let target = output + "/" + RewardModelInfo.fileName
            try? fm.removeItem(atPath: target)
            try fm.copyItem(atPath: adapter + "/" + RewardModelInfo.fileName, toPath: target)
        }
        note("merged \(lora.config.targetModules.count) module kinds × \(base.config.layerCount) layers into \(output)")
    }
}
