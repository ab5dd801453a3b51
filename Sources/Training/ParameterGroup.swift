import Common
import Foundation
import Models
import SafeTensors
import Tensor

/// One set of trained tensors: parameters, gradients and AdamW moments share one table (so an update is one
/// loop), with its own learning-rate multiplier and weight-decay rule.
///
/// A run trains one or more groups (`model` for full fine-tuning or `adapter` for LoRA, and `value_head` for
/// PPO); the loop clips them by one global norm and updates each with its scaled rate.
// Unchecked Sendable: raw tensors, updated only by the training loop's thread.
public final class ParameterGroup: @unchecked Sendable {
    /// The group's name: the prefix of its optimizer moments in a checkpoint.
    public let name: String
    /// The trained values.
    public let parameters: TensorArena
    /// Gradients, laid out like `parameters`; objectives accumulate into them.
    public let gradients: TensorArena
    /// AdamW over this group.
    public let optimizer: AdamW
    /// This group's learning rate is the schedule's times this.
    public var learningRateScale: Double

    /// A group over `parameters` and `gradients` (same table); `decay(name, shape)` picks the tensors that get
    /// weight decay.
    public init(
        name: String, parameters: TensorArena, gradients: TensorArena, adamw: AdamWConfig, learningRateScale: Double = 1,
        decay: (String, [Int]) -> Bool
    ) {
        precondition(parameters.count == gradients.count, "gradients laid out unlike the parameters of \(name)")
        self.name = name
        self.parameters = parameters
        self.gradients = gradients
        self.learningRateScale = learningRateScale
        optimizer = AdamW(config: adamw, layout: parameters.layout, decay: decay)
    }

    /// Weight decay on matrices only (not on norms, biases or the value head's bias), as most trainers do.
    public static let decayMatrices: @Sendable (String, [Int]) -> Bool = { _, shape in shape.count >= 2 }
}

/// A Llama model as a run trains it: the LoRA adapter or every weight, optionally a value head on the final
/// hidden state, each with gradients and optimizer state; saved and restored as checkpoint files.
// Unchecked Sendable: updated only by the training loop's thread.
public final class TrainableModel: @unchecked Sendable {
    /// The model; its `adapter` is the trained one under LoRA.
    public let model: LlamaModel
    /// The base model's directory (named in adapter_config.json, copied config.json for full weights).
    public let modelDirectory: String
    /// Gradients of every weight (full fine-tuning), or nil under LoRA.
    public let weightGradients: LlamaWeights?
    /// Gradients of the adapter (LoRA), or nil.
    public let adapterGradients: LoRAAdapter?
    /// The value head and its gradients (PPO), or nil.
    public let valueHead: ValueHead?
    public let valueHeadGradients: ValueHead?
    /// The groups the loop updates: `adapter` or `model`, then `value_head`.
    public let groups: [ParameterGroup]
    /// Small files written into every checkpoint beside the weights, by name (e.g. a reward model's answer format).
    public var descriptionFiles: [String: String] = [:]

    /// Sets up training of `model`: LoRA when `lora` is given (a fresh adapter from `seed`), else every weight;
    /// a value head (fresh from `seed`) when `valueHeadRate` is given, at that multiple of the learning rate.
    public init(
        model: LlamaModel, directory: String, lora: LoRAConfig?, adamw: AdamWConfig, seed: UInt64,
        valueHeadRate: Double? = nil
    ) {
        self.model = model
        modelDirectory = directory
        var groups: [ParameterGroup] = []
        if let lora {
            let adapter = LoRAAdapter(config: lora, modelConfig: model.config)
            adapter.initialize(seed: seed)
            model.adapter = adapter
            let gradients = LoRAAdapter(config: lora, modelConfig: model.config)
            adapterGradients = gradients
            weightGradients = nil
            groups.append(ParameterGroup(name: "adapter", parameters: adapter.arena, gradients: gradients.arena, adamw: adamw,
                                         decay: ParameterGroup.decayMatrices))
        } else {
            let gradients = LlamaWeights(config: model.config)
            weightGradients = gradients
            adapterGradients = nil
            groups.append(ParameterGroup(name: "model", parameters: model.weights.arena, gradients: gradients.arena, adamw: adamw,
                                         decay: ParameterGroup.decayMatrices))
        }
        if let valueHeadRate {
            let head = ValueHead(hiddenSize: model.config.hiddenSize)
            head.initialize(seed: seed ^ 0x7A1E)
            let gradients = ValueHead(hiddenSize: model.config.hiddenSize)
            valueHead = head
            valueHeadGradients = gradients
            groups.append(ParameterGroup(name: "value_head", parameters: head.arena, gradients: gradients.arena, adamw: adamw,
                                         learningRateScale: valueHeadRate, decay: ParameterGroup.decayMatrices))
        } else {
            valueHead = nil
            valueHeadGradients = nil
        }
        self.groups = groups
    }

    /// Zeroes every group's gradients.
    public func zeroGradients() {
        for group in groups { group.gradients.zero() }
    }

    /// The files of a model directory besides the weights that a full checkpoint carries along, so it loads as a
    /// model directory of its own (tokenizer and chat template included).
    static let companionFiles = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                                 "special_tokens_map.json", "chat_template.jinja"]

    /// Writes the trained tensors into `directory`: a PEFT adapter, or a full model directory (weights, config.json
    /// and the base directory's tokenizer files); and value_head.safetensors.
    public func saveWeights(directory: String) throws {
        if let adapter = model.adapter, adapterGradients != nil {
            try adapter.save(directory: directory, baseModel: modelDirectory)
        } else {
            try model.weights.save(directory: directory)
            let fm = FileManager.default
            for name in Self.companionFiles where fm.fileExists(atPath: modelDirectory + "/" + name) {
                try fm.copyItem(atPath: modelDirectory + "/" + name, toPath: directory + "/" + name)
            }
        }
        try valueHead?.save(directory: directory)
        for (name, text) in descriptionFiles.sorted(by: { $0.key < $1.key }) {
            try OutputFile.write(text, to: directory + "/" + name, what: "the checkpoint's \(name)")
        }
    }

    /// Restores the trained tensors from a checkpoint directory written by `saveWeights`.
    public func loadWeights(directory: String) throws {
        if let adapter = model.adapter, adapterGradients != nil {
            let saved = try LoRAAdapter.load(directory: directory, config: model.config)
            guard saved.config.rank == adapter.config.rank, saved.config.targetModules == adapter.config.targetModules else {
                throw TrainingError.badCheckpoint(path: directory, reason: "the adapter does not match the run's LoRA settings")
            }
            adapter.arena.data.update(from: saved.arena.data, count: saved.arena.count)
        } else {
            try model.weights.load(from: SafeTensorsCheckpoint(directory: directory))
        }
        if let valueHead {
            let saved = try ValueHead.load(directory: directory, hiddenSize: valueHead.hiddenSize)
            valueHead.arena.data.update(from: saved.arena.data, count: saved.arena.count)
        }
    }
}
