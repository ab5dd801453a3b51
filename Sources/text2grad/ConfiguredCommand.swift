import Annotation
import ArgumentParser
import CodeSandbox
import Common
import Demo
import Evaluation
import FactSummaries
import Generation
import PolicyOptimization
import RewardModel
import Server
import Training

/// A command whose settings are one `RunConfiguration`: its defaults, then `--config FILE`, then its flags, each
/// set by key path through a group's flag mirror (`LoRAOptions`, ...) or the command's own options.
protocol ConfiguredCommand: ParsableArguments {
    associatedtype Config: RunConfiguration
    /// The settings resolution starts from (train-rm: SFT's type with the reward model's defaults).
    static var defaults: Config { get }
    /// Defaults, then the file, then flags; validated.
    func resolvedConfig() throws -> Config
}

extension ConfiguredCommand {
    static var defaults: Config { Config() }

    /// `ConfigFile.resolve` from this command's defaults (or `base`). A setting that fails validation is a usage
    /// error (exit 64) when only flags gave settings, and bad input naming the file (exit 1) with `--config`.
    static func resolve(base: Config = defaults, file: String?, flags: (inout Config) throws -> Void) throws -> Config {
        do {
            return try ConfigFile.resolve(Config.self, base: base, path: file, flags: flags)
        } catch let error where file == nil && !(error is ValidationError) {
            throw ValidationError("\(error)")
        }
    }

    /// "(default: X)" for the setting at `path`, from this command's defaults; empty when it has none.
    static func defaultNote<Value>(_ path: KeyPath<Config, Value>) -> String {
        describe(defaults[keyPath: path]).map { " (default: \($0))" } ?? ""
    }
}

/// A default as help text: nil for an unset optional, lists joined by commas.
private func describe(_ value: Any) -> String? {
    let mirror = Mirror(reflecting: value)
    if mirror.displayStyle == .optional {
        return mirror.children.first.flatMap { describe($0.value) }
    }
    if mirror.displayStyle == .collection {
        return mirror.children.map { describe($0.value) ?? "" }.joined(separator: ",")
    }
    return "\(value)"
}

/// `--config FILE`, the same for every configured command.
struct ConfigFileOption: ParsableArguments {
    @Option(help: "A YAML file of settings (snake_case keys, as the saved config.yaml); flags override it.")
    var config: String?
}

// The groups each configuration is composed of, so one flag mirror serves every command that has the group.
protocol HasModel { var model: ModelSettings { get set } }
protocol HasDecoding { var decoding: DecodingSettings { get set } }
protocol HasLoRA { var lora: LoRASettings { get set } }
protocol HasOptimizer { var optimizer: OptimizerSettings { get set } }
protocol HasLoop { var loop: TrainingLoopSettings { get set } }
protocol HasSampling { var sampling: SamplingSettings { get set } }
protocol HasEndpoint { var endpoint: EndpointSettings { get set } }
protocol HasCritic { var critic: CriticSettings { get set } }
protocol HasSandbox { var sandbox: SandboxLimits { get set } }

extension SFTConfig: HasModel, HasLoRA, HasOptimizer, HasLoop {}
extension PPOConfig: HasModel, HasDecoding, HasLoRA, HasOptimizer, HasLoop, HasSampling, HasCritic {}
extension GenerateConfig: HasModel, HasDecoding, HasSampling {}
extension ServeConfig: HasModel, HasDecoding {}
extension AnnotateConfig: HasEndpoint, HasSandbox {}
extension EvalJudgeConfig: HasEndpoint {}
extension EvalCodeConfig: HasSandbox {}
extension CritiqueConfig: HasCritic {}
extension EvalRMConfig: HasCritic {}
