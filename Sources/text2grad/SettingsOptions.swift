import ArgumentParser
import Foundation
import CodeSandbox
import Common

// One flag mirror per settings group: each flag sets one field by key path (a renamed field does not compile), an
// unset flag keeps the file's value, and each help line ends with the command's own default.

/// `--model DIR`, `--threads N`.
struct ModelOptions<Command: ConfiguredCommand>: ParsableArguments where Command.Config: HasModel {
    @Option(help: "A Hugging Face model directory (config.json, safetensors, tokenizer.json) or a GGUF file.")
    var model: String?
    @Option(help: "Engine threads: matrix products and kernels. (default: the machine's cores)")
    var threads: Int?

    func apply(to c: inout Command.Config) {
        c.model.override(\.path, model)
        c.model.override(\.threads, threads)
    }
}

/// `--weights auto|bf16|fp32`.
struct DecodingOptions<Command: ConfiguredCommand>: ParsableArguments where Command.Config: HasDecoding {
    @Option(help: ArgumentHelp("The precision decoding reads the matrices in (auto: bf16 for a bf16 checkpoint)."
                               + Command.defaultNote(\.decoding.weights)))
    var weights: DecodePrecision?

    func apply(to c: inout Command.Config) {
        c.decoding.override(\.weights, weights)
    }
}

/// `--lora-rank`, `--lora-alpha`, `--lora-dropout`, `--lora-rslora`, `--lora-targets`, `--base-precision`.
struct LoRAOptions<Command: ConfiguredCommand>: ParsableArguments where Command.Config: HasLoRA {
    @Option(help: ArgumentHelp("LoRA rank; 0 trains every parameter." + Command.defaultNote(\.lora.rank)))
    var loraRank: Int?
    @Option(help: ArgumentHelp("LoRA alpha: the update is scaled by alpha/rank." + Command.defaultNote(\.lora.alpha)))
    var loraAlpha: Double?
    @Option(help: ArgumentHelp("Dropout on the LoRA input." + Command.defaultNote(\.lora.dropout)))
    var loraDropout: Double?
    @Flag(inversion: .prefixedNo, help: ArgumentHelp("Scale LoRA by alpha/√rank (rsLoRA)."
                                                     + Command.defaultNote(\.lora.rsLoRA)))
    var loraRslora: Bool?
    @Flag(name: .customLong("rslora"), help: .hidden) var rsloraAlias = false
    @Option(help: ArgumentHelp("Comma-separated projections adapted, among q_proj,k_proj,v_proj,o_proj,gate_proj,"
                               + "up_proj,down_proj." + Command.defaultNote(\.lora.targets)))
    var loraTargets: String?
    @Option(help: ArgumentHelp("Products with the frozen base under LoRA: fp32, or bf16 (rounded operands, fp32 sums)."
                               + Command.defaultNote(\.lora.basePrecision)))
    var basePrecision: BasePrecision?

    func apply(to c: inout Command.Config) {
        c.lora.override(\.rank, loraRank)
        c.lora.override(\.alpha, loraAlpha)
        c.lora.override(\.dropout, loraDropout)
        c.lora.override(\.rsLoRA, loraRslora ?? (rsloraAlias ? true : nil))
        c.lora.override(\.targets, loraTargets.map(list))
        c.lora.override(\.basePrecision, basePrecision)
    }
}

/// `--learning-rate`, `--weight-decay`, `--beta1`, `--beta2`, `--epsilon`, `--max-grad-norm`.
struct OptimizerOptions<Command: ConfiguredCommand>: ParsableArguments where Command.Config: HasOptimizer {
    @Option(help: ArgumentHelp("Peak learning rate." + Command.defaultNote(\.optimizer.learningRate)))
    var learningRate: Double?
    @Option(help: ArgumentHelp("AdamW weight decay, on matrices." + Command.defaultNote(\.optimizer.weightDecay)))
    var weightDecay: Double?
    @Option(help: ArgumentHelp("AdamW's β₁." + Command.defaultNote(\.optimizer.beta1)))
    var beta1: Double?
    @Option(help: ArgumentHelp("AdamW's β₂." + Command.defaultNote(\.optimizer.beta2)))
    var beta2: Double?
    @Option(help: ArgumentHelp("AdamW's ε." + Command.defaultNote(\.optimizer.epsilon)))
    var epsilon: Double?
    @Option(help: ArgumentHelp("Global gradient-norm clip, 0 for none." + Command.defaultNote(\.optimizer.maxGradNorm)))
    var maxGradNorm: Double?

    func apply(to c: inout Command.Config) {
        c.optimizer.override(\.learningRate, learningRate)
        c.optimizer.override(\.weightDecay, weightDecay)
        c.optimizer.override(\.beta1, beta1)
        c.optimizer.override(\.beta2, beta2)
        c.optimizer.override(\.epsilon, epsilon)
        c.optimizer.override(\.maxGradNorm, maxGradNorm)
    }
}

/// `--output`, `--steps`, `--batch-size`, `--schedule`, `--warmup-steps`, `--eval-every`, `--save-every`,
/// `--keep-checkpoints`, `--seed`.
struct LoopOptions<Command: ConfiguredCommand>: ParsableArguments where Command.Config: HasLoop {
    @Option(name: [.short, .long], help: ArgumentHelp("Run directory." + Command.defaultNote(\.loop.output)))
    var output: String?
    @Option(help: ArgumentHelp("Optimizer steps." + Command.defaultNote(\.loop.steps)))
    var steps: Int?
    @Option(help: ArgumentHelp("Sequences (PPO: rollouts) per step." + Command.defaultNote(\.loop.batchSize)))
    var batchSize: Int?
    @Option(help: ArgumentHelp("The learning rate's decay after the warmup." + Command.defaultNote(\.loop.schedule)))
    var schedule: ScheduleKind?
    @Option(help: ArgumentHelp("Linear warmup steps." + Command.defaultNote(\.loop.warmupSteps)))
    var warmupSteps: Int?
    @Option(help: ArgumentHelp("Steps between evaluations, 0 for the end only."
                               + Command.defaultNote(\.loop.evalEvery)))
    var evalEvery: Int?
    @Option(help: ArgumentHelp("Steps between checkpoints, 0 for the end only."
                               + Command.defaultNote(\.loop.saveEvery)))
    var saveEvery: Int?
    @Option(help: ArgumentHelp("Checkpoints kept." + Command.defaultNote(\.loop.keepCheckpoints)))
    var keepCheckpoints: Int?
    @Option(help: ArgumentHelp("Random seed." + Command.defaultNote(\.loop.seed)))
    var seed: UInt64?

    func apply(to c: inout Command.Config) {
        c.loop.override(\.output, output)
        c.loop.override(\.steps, steps)
        c.loop.override(\.batchSize, batchSize)
        c.loop.override(\.schedule, schedule)
        c.loop.override(\.warmupSteps, warmupSteps)
        c.loop.override(\.evalEvery, evalEvery)
        c.loop.override(\.saveEvery, saveEvery)
        c.loop.override(\.keepCheckpoints, keepCheckpoints)
        c.loop.override(\.seed, seed)
    }
}

/// `--temperature`, `--top-p`, `--top-k`, `--max-new-tokens`, `--min-new-tokens`.
struct SamplingOptions<Command: ConfiguredCommand>: ParsableArguments where Command.Config: HasSampling {
    @Option(help: ArgumentHelp("Sampling temperature; 0 is greedy." + Command.defaultNote(\.sampling.temperature)))
    var temperature: Double?
    @Option(help: ArgumentHelp("Nucleus sampling: keep the most likely tokens up to this probability mass."
                               + Command.defaultNote(\.sampling.topP)))
    var topP: Double?
    @Option(help: ArgumentHelp("Keep the k most likely tokens (0: all)." + Command.defaultNote(\.sampling.topK)))
    var topK: Int?
    @Option(help: ArgumentHelp("The response budget: new tokens at most."
                               + Command.defaultNote(\.sampling.maxNewTokens)))
    var maxNewTokens: Int?
    @Option(help: ArgumentHelp("No end of sequence (or stop string) before this many new tokens."
                               + Command.defaultNote(\.sampling.minNewTokens)))
    var minNewTokens: Int?

    func apply(to c: inout Command.Config) {
        c.sampling.override(\.temperature, temperature)
        c.sampling.override(\.topP, topP)
        c.sampling.override(\.topK, topK)
        c.sampling.override(\.maxNewTokens, maxNewTokens)
        c.sampling.override(\.minNewTokens, minNewTokens)
    }
}

/// `--base-url`, `--model`, `--api-key`, `--concurrency`, `--max-retries`, `--timeout`, `--json-mode`.
struct EndpointOptions<Command: ConfiguredCommand>: ParsableArguments where Command.Config: HasEndpoint {
    @Option(help: ArgumentHelp("Endpoint base URL up to /v1 ($OPENAI_BASE_URL, else OpenAI's)."
                               + Command.defaultNote(\.endpoint.baseURL)))
    var baseURL: String?
    @Option(help: ArgumentHelp("The model the endpoint is asked for." + Command.defaultNote(\.endpoint.model)))
    var model: String?
    @Option(help: "API key. (default: $OPENAI_API_KEY; prefer the variable: flags show in ps)")
    var apiKey: String?
    @Option(name: [.short, .long], help: ArgumentHelp("Requests in flight at once."
                                                      + Command.defaultNote(\.endpoint.concurrency)))
    var concurrency: Int?
    @Option(help: ArgumentHelp("Retries per request on connection errors, 408/409/429/5xx."
                               + Command.defaultNote(\.endpoint.maxRetries)))
    var maxRetries: Int?
    @Option(help: ArgumentHelp("Per-attempt timeout in seconds." + Command.defaultNote(\.endpoint.timeoutSeconds)))
    var timeout: Double?
    @Flag(inversion: .prefixedNo, help: ArgumentHelp("Request response_format json_object."
                                                     + Command.defaultNote(\.endpoint.jsonMode)))
    var jsonMode: Bool?

    func apply(to c: inout Command.Config) {
        c.endpoint.override(\.baseURL, baseURL)
        c.endpoint.override(\.model, model)
        c.endpoint.override(\.apiKey, apiKey)
        c.endpoint.override(\.concurrency, concurrency)
        c.endpoint.override(\.maxRetries, maxRetries)
        c.endpoint.override(\.timeoutSeconds, timeout)
        c.endpoint.override(\.jsonMode, jsonMode)
    }
}

/// `--reward`, `--reward-model`, `--reward-adapter`, `--reward-url`, `--reward-model-name`, `--task`,
/// `--critique-max-new-tokens`, `--free-quotes`, `--max-quotes`, `--critique-batch-size`, `--rm-target`.
struct CriticOptions<Command: ConfiguredCommand>: ParsableArguments where Command.Config: HasCritic {
    @Option(help: ArgumentHelp("Who critiques." + Command.defaultNote(\.critic.source)))
    var reward: RewardSource?
    @Option(help: "A local reward model's directory (--reward rm).")
    var rewardModel: String?
    @Option(help: "The reward model's LoRA adapter, merged into it (--reward rm).")
    var rewardAdapter: String?
    @Option(help: "Base URL up to /v1 of a server of the reward model or of a teacher (--reward endpoint, teacher).")
    var rewardURL: String?
    @Option(help: ArgumentHelp("The model name sent to --reward-url." + Command.defaultNote(\.critic.modelName)))
    var rewardModelName: String?
    @Option(help: ArgumentHelp("summarization, qa or code: the span labels asked for."
                               + (Command.defaults.critic.task == nil
                                  ? " (default: the records' task, else summarization)"
                                  : Command.defaultNote(\.critic.task))))
    var task: String?
    @Option(help: ArgumentHelp("The critique's budget: new tokens at most."
                               + Command.defaultNote(\.critic.maxNewTokens)))
    var critiqueMaxNewTokens: Int?
    @Option(name: .customLong("critique-tokens"), help: .hidden) var critiqueTokens: Int?
    @Flag(help: "A local reward model may quote text that is not in the response (by default only verbatim quotes).")
    var freeQuotes = false
    @Option(help: ArgumentHelp("At most this many quotes per label: a local reward model's decoding, or the builtin "
                               + "teacher's cap. (default: no limit)"))
    var maxQuotes: Int?
    @Option(help: ArgumentHelp("Responses critiqued per generation batch, or requests in flight to an endpoint."
                               + Command.defaultNote(\.critic.batchSize)))
    var critiqueBatchSize: Int?
    @Option(help: ArgumentHelp("The reward model's answer format: critique+spans, spans or dense (default: a local "
                               + "reward model's own, saved by train-rm; else critique+spans)."))
    var rmTarget: RewardTarget?

    func apply(to c: inout Command.Config) {
        c.critic.override(\.source, reward)
        c.critic.override(\.model, rewardModel)
        c.critic.override(\.adapter, rewardAdapter)
        c.critic.override(\.url, rewardURL)
        c.critic.override(\.modelName, rewardModelName)
        c.critic.override(\.task, task)
        c.critic.override(\.maxNewTokens, critiqueMaxNewTokens ?? critiqueTokens)
        if freeQuotes { c.critic.freeQuotes = true }
        c.critic.override(\.maxQuotes, maxQuotes)
        c.critic.override(\.batchSize, critiqueBatchSize)
        c.critic.override(\.target, rmTarget)
    }
}

/// `--sandbox-timeout`, `--sandbox-cpu-seconds`, `--sandbox-memory-mb`, `--sandbox-disk-mb`, `--python`: the
/// `sandbox:` settings of test runs.
struct SandboxOptions<Command: ConfiguredCommand>: ParsableArguments where Command.Config: HasSandbox {
    @Option(help: ArgumentHelp("Wall-clock limit of a test run, seconds." + Command.defaultNote(\.sandbox.wallSeconds)))
    var sandboxTimeout: Double?
    @Option(help: ArgumentHelp("CPU-time limit of a test run, seconds." + Command.defaultNote(\.sandbox.cpuSeconds)))
    var sandboxCpuSeconds: Int?
    @Option(help: ArgumentHelp("Memory (address-space) limit of a test run, MiB."
                               + Command.defaultNote(\.sandbox.memoryMB)))
    var sandboxMemoryMb: Int?
    @Option(help: ArgumentHelp("What a test run's working directory and its /tmp may each hold, MiB (tmpfs)."
                               + Command.defaultNote(\.sandbox.diskMB)))
    var sandboxDiskMb: Int?
    @Option(help: ArgumentHelp("Python interpreter for test runs." + Command.defaultNote(\.sandbox.python)))
    var python: String?

    func apply(to c: inout Command.Config) {
        c.sandbox.wallSeconds = sandboxTimeout ?? c.sandbox.wallSeconds
        c.sandbox.cpuSeconds = sandboxCpuSeconds ?? c.sandbox.cpuSeconds
        c.sandbox.memoryMB = sandboxMemoryMb ?? c.sandbox.memoryMB
        c.sandbox.diskMB = sandboxDiskMb ?? c.sandbox.diskMB
        c.sandbox.python = python ?? c.sandbox.python
    }
}

/// A comma-separated flag as a list (`q_proj,v_proj`).
func list(_ value: String) -> [String] {
    value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

extension ScheduleKind: ExpressibleByArgument {}
extension DecodePrecision: ExpressibleByArgument {}
extension RewardSource: ExpressibleByArgument {}
extension BasePrecision: ExpressibleByArgument {}
extension RewardTarget: ExpressibleByArgument {}
