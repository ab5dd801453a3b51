import CodeSandbox
import Common

/// `text2grad eval summarization`: the predictions to score against their references.
public struct EvalSummarizationConfig: RunConfiguration, Equatable {
    /// Records with "prediction" and "reference" (or "references"): JSONL, gzipped JSONL or a JSON list.
    public var predictions = ""
    /// One JSON line of scores per example (default: none).
    public var output: String?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case predictions, output
    }

    public init() {}

    public func validate() throws {
        if predictions.isEmpty {
            throw FileError.badConfig(source: "eval summarization", detail: "'predictions' is required")
        }
    }
}

/// `text2grad eval code`: which samples run, under what limits, and where results go.
public struct EvalCodeConfig: RunConfiguration, Equatable {
    /// The task file: HumanEval or MBPP format (.jsonl, .jsonl.gz or a JSON list).
    public var tasks = ""
    /// Samples: task_id and completion or solution per record.
    public var samples: String?
    /// Run the task file's own reference solutions instead of samples.
    public var reference = false
    /// Per-sample results, JSONL (append-only).
    public var output: String?
    /// Keep the results already in `output` and run only the samples missing there.
    public var resume = false
    /// Empty `output` first.
    public var overwrite = false
    /// Samples run at the same time.
    public var jobs = 2
    /// Each sample's limits (a benchmark's: 10 s of wall clock, 5 s of CPU, 1 GiB), as `annotate`'s `sandbox:`.
    public var sandbox = CodeEvaluationConfig.defaultLimits
    /// The k of each pass@k (reported where every task has k samples).
    public var k = [1, 10, 100]

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case tasks, samples, reference, output, resume, overwrite, jobs, sandbox, k
    }

    public init() {}

    public func validate() throws {
        func fail(_ reason: String) -> Error { FileError.badConfig(source: "eval code", detail: reason) }
        if tasks.isEmpty { throw fail("'tasks' is required") }
        if (samples != nil) == reference { throw fail("give exactly one of 'samples' and 'reference'") }
        if !(1...256).contains(jobs) { throw fail("'jobs' must be within 1...256") }
        try sandbox.validate(fail)
        if !k.allSatisfy({ $0 >= 1 }) { throw fail("each k must be at least 1") }
        if resume && overwrite { throw fail("'resume' and 'overwrite' exclude each other") }
    }
}

/// `text2grad eval judge`: the outputs compared, the judge's endpoint and how it is asked.
public struct EvalJudgeConfig: RunConfiguration, Equatable {
    /// The judge's endpoint (OpenAI's gpt-4o by default; `$OPENAI_BASE_URL`, `$OPENAI_API_KEY`).
    public var endpoint = EndpointSettings()
    /// The evaluated model's outputs, and the baseline's.
    public var predictions = ""
    public var baseline = ""
    /// preference (which answer is better) or slf5k (the paper's four-criteria summary judge).
    public var criteria = JudgeCriteria.preference
    /// Seed of the presentation orders.
    public var seed: UInt64 = 0
    /// Shuffle which answer comes first (balanced over items).
    public var randomize = true
    /// Ask each item twice, once in each order.
    public var bothOrders = false
    /// The answer cache, JSONL (default: `<output>.cache.jsonl`, or none without `output`).
    public var cache: String?
    /// Per-item verdicts, JSONL.
    public var output: String?
    /// The judge's response budget.
    public var maxNewTokens = 1024

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case endpoint, predictions, baseline, criteria, seed, randomize, bothOrders = "both_orders", cache, output
        case maxNewTokens = "max_new_tokens"
    }

    public static var flattenedGroups: [(field: CodingKeys, group: any SettingsGroup.Type)] {
        [(.endpoint, EndpointSettings.self)]
    }

    /// The defaults: gpt-4o at OpenAI.
    public init() {
        endpoint.model = "gpt-4o"
    }

    /// The defaults, then the environment's endpoint and key.
    public init(environment: [String: String]) {
        self.init()
        let model = endpoint.model
        endpoint = EndpointSettings(environment: environment)
        endpoint.model = model
    }

    public func validate() throws {
        func fail(_ reason: String) -> Error { FileError.badConfig(source: "eval judge", detail: reason) }
        if predictions.isEmpty || baseline.isEmpty { throw fail("'predictions' and 'baseline' are required") }
        try endpoint.validate(fail)
        if endpoint.concurrency > 256 { throw fail("'concurrency' must be within 1...256") }
        if !(1...(1 << 20)).contains(maxNewTokens) { throw fail("'max_new_tokens' must be positive") }
    }

    /// The judge run's settings.
    public var judge: JudgeConfig {
        var config = JudgeConfig()
        config.criteria = criteria
        config.seed = seed
        config.randomizeOrder = randomize
        config.bothOrders = bothOrders
        config.maxTokens = maxNewTokens
        config.concurrency = endpoint.concurrency
        config.cachePath = cache ?? output.map { $0 + ".cache.jsonl" }
        config.judgeModel = endpoint.model + "@" + endpoint.baseURL
        return config
    }
}
