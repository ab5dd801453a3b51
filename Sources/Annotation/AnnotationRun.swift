import Chat
import CodeSandbox
import Common
import Foundation
import LLMClient
import Logging
import Spans
import Tasks

/// One `text2grad annotate` run over files: read, resume, annotate concurrently, write, summarize.
///
/// Phases: read task and input (no file touched yet) → open and lock the output files →
/// `makePlan` (torn tail, done and failed ids, pending items) → `annotateAll` (bounded task group,
/// each record appended as soon as it exists) → summary. The output and failures files are only
/// ever appended to, except for `overwrite` and for cutting a torn last line on resume.
public struct AnnotationRun: Sendable {
    /// The resolved configuration.
    public let config: AnnotateConfig
    /// Diagnostics (retries, rejected input); never sees the key.
    public let logger: Logger

    /// Creates a run; `config` should already be validated.
    public init(config: AnnotateConfig, logger: Logger = Logger(label: "text2grad.annotate")) {
        self.config = config
        self.logger = logger
    }

    /// Resolves the task named in the config: a built-in name or a custom task file.
    public static func task(named name: String, improvementScore: Double) throws -> any AnnotationTask {
        if let builtin = BuiltinTask(rawValue: name) { return builtin.make(improvementScore: improvementScore) }
        guard name.hasSuffix(".yaml") || name.hasSuffix(".yml") || FileManager.default.fileExists(atPath: name) else {
            let known = BuiltinTask.allCases.map(\.rawValue).joined(separator: ", ")
            throw AnnotationError.badConfig(
                source: "task", detail: "'\(name)' is neither a built-in task (\(known)) nor a task YAML file")
        }
        return try CustomTask(path: name)
    }

    /// What is left to do after reading the input and the existing output.
    struct Plan {
        var task: any AnnotationTask
        var pending: [TaskItem]
        var inputItems: Int
        var alreadyDone: Int
        var truncatedBytes: Int
        var rejected: [RejectedInput]
    }

    /// Runs everything; `client` replaces the HTTP client (tests, or `serve` in-process).
    public func execute(client: (any ChatCompleting)? = nil) async throws -> RunSummary {
        try config.validate()
        // Everything that can reject the run happens before any file is created or changed.
        let task = try Self.task(named: config.task, improvementScore: config.improvementScore)
        let prices = try config.priceTable.map(PriceTable.load(path:)) ?? PriceTable.builtin
        let dataset = try DatasetReader.read(path: config.input, policy: config.badLines)
        try checkExistingOutput()
        if task.runsCode { try await checkPython() }
        // Opening takes the files' locks, so a second run on the same output stops here, before
        // it could cut what it mistakes for a torn line.
        let output = try JSONLAppender(path: config.output, redacting: config.endpoint.apiKey)
        let failures = try JSONLAppender(path: config.failuresPath, redacting: config.endpoint.apiKey)
        let ownClient: OpenAIClient? = client == nil ? OpenAIClient(settings: config.endpoint, logger: logger) : nil
        do {
            let plan = try makePlan(task: task, dataset: dataset)
            try saveResolvedConfig()
            let summary = try await run(plan, client: client ?? ownClient, output: output, failures: failures)
            await ownClient?.shutdown()
            await output.close()
            await failures.close()
            try compactFailures()
            var result = summary
            result.cost = prices.cost(summary.usage, model: config.endpoint.model)
            return result
        } catch {
            await ownClient?.shutdown()
            await output.close()
            await failures.close()
            throw error
        }
    }

    /// What a run would do, without sending a request or touching a file: pending items, the first
    /// prompt, and a cost bound (prompt tokens estimated at 4 characters each, completions at `max_tokens`).
    public func dryRun() throws -> String {
        try config.validate()
        let task = try Self.task(named: config.task, improvementScore: config.improvementScore)
        let prices = try config.priceTable.map(PriceTable.load(path:)) ?? PriceTable.builtin
        let dataset = try DatasetReader.read(path: config.input, policy: config.badLines)
        try checkExistingOutput()
        let plan = try makePlan(task: task, dataset: dataset, dryRun: true)
        var characters = 0
        for item in plan.pending {
            characters += try task.messages(for: item, execution: nil).reduce(0) { $0 + $1.content.count }
        }
        let bound = TokenUsage(promptTokens: characters / 4, completionTokens: plan.pending.count * config.maxNewTokens)
        let endpoint = config.endpoint
        var lines = [
            "dry run: task \(task.name), \(plan.inputItems) items in \(config.input), "
                + "\(plan.alreadyDone) already done, \(plan.pending.count) to annotate, "
                + "\(plan.rejected.count) rejected input entries",
            "teacher: \(endpoint.model) at \(publicURL(endpoint.baseURL)), concurrency \(endpoint.concurrency)",
            "tokens (estimate): ~\(bound.promptTokens) prompt, ≤ \(bound.completionTokens) completion"
                + (prices.cost(bound, model: endpoint.model).map { String(format: "; cost ≤ $%.2f", $0) } ?? ""),
        ]
        if plan.truncatedBytes > 0 { lines.append("the output ends with a torn line of \(plan.truncatedBytes) bytes") }
        if let first = plan.pending.first {
            // Code prompts are shown without a test run; the real run adds its result.
            let messages = try task.messages(for: first, execution: nil)
            lines.append("first prompt (item \(first.id)):")
            for message in messages { lines.append("--- \(message.role) ---\n\(message.content)") }
        }
        return lines.joined(separator: "\n")
    }

    /// Annotates the plan's pending items and tallies the run.
    private func run(
        _ plan: Plan, client: (any ChatCompleting)?, output: JSONLAppender, failures: JSONLAppender
    ) async throws -> RunSummary {
        guard let client else { preconditionFailure("execute always supplies a client") }
        let stats = RunStats()
        for rejected in plan.rejected {
            logger.error("skipped input: \(rejected.error)")
            await stats.add(failure: "bad_input")
            try await failures.append(
                FailureRecord(id: rejected.failureID, kind: "bad_input", reason: rejected.error.description))
        }
        let annotator = Annotator(
            task: plan.task, client: client, model: config.endpoint.model, baseURL: publicURL(config.endpoint.baseURL),
            temperature: config.temperature, topP: config.topP, maxTokens: config.maxNewTokens, reask: config.reask,
            aligner: SpanAligner(fuzzyThreshold: config.fuzzyThreshold), sandbox: Sandbox(limits: config.sandbox),
            sandboxConcurrency: config.sandboxConcurrency)
        let started = Date()
        try await annotateAll(plan.pending, annotator: annotator, output: output, failures: failures, stats: stats)
        return RunSummary(
            inputItems: plan.inputItems, alreadyDone: plan.alreadyDone, attempted: plan.pending.count,
            records: await stats.records, failures: await stats.failures, spans: await stats.spans,
            matches: await stats.matches, usage: await stats.usage, cost: nil,
            seconds: Date().timeIntervalSince(started), truncatedBytes: plan.truncatedBytes)
    }

    /// Refuses to touch earlier results unless asked to resume or overwrite.
    func checkExistingOutput() throws {
        guard !(config.resume || config.retryFailed || config.overwrite) else { return }
        for path in [config.output, config.failuresPath] {
            if let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, size > 0 {
                throw AnnotationError.outputExists(path: path)
            }
        }
    }

    /// Empties the files for `overwrite`, reads what earlier runs wrote, and decides what to annotate.
    /// Call with the files' locks held; a dry run changes nothing.
    func makePlan(task: any AnnotationTask, dataset: Dataset, dryRun: Bool = false) throws -> Plan {
        let resuming = config.resume || config.retryFailed
        if config.overwrite && dryRun {
            return Plan(
                task: task, pending: Array(dataset.items.prefix(config.limit ?? Int.max)),
                inputItems: dataset.items.count, alreadyDone: 0, truncatedBytes: 0, rejected: dataset.rejected)
        }
        if config.overwrite {
            for path in [config.output, config.failuresPath] {
                guard truncate(path, 0) == 0 else {
                    throw AnnotationError.io(path: path, detail: "cannot empty the file for --overwrite")
                }
            }
        }
        let outputScan = try JSONLScan.read(path: config.output, repair: !dryRun)
        let failureScan = try JSONLScan.read(path: config.failuresPath, repair: !dryRun)
        if outputScan.truncatedBytes > 0 {
            logger.warning("cut a torn last line (\(outputScan.truncatedBytes) bytes) from \(config.output)")
        }
        let done = Set(outputScan.ids)
        let failed = Set(failureScan.ids).subtracting(done)
        var pending = dataset.items.filter { !done.contains($0.id) && (config.retryFailed || !failed.contains($0.id)) }
        if let limit = config.limit { pending = Array(pending.prefix(limit)) }
        // A rejected line already in the failures file is not reported twice when resuming.
        let rejected = dataset.rejected.filter { !(resuming && failureScan.ids.contains($0.failureID)) }
        return Plan(
            task: task, pending: pending, inputItems: dataset.items.count,
            alreadyDone: dataset.items.filter { done.contains($0.id) }.count,
            truncatedBytes: outputScan.truncatedBytes, rejected: rejected)
    }

    /// Keeps `concurrency` items in flight; each result is written the moment it exists.
    private func annotateAll(
        _ items: [TaskItem], annotator: Annotator, output: JSONLAppender, failures: JSONLAppender, stats: RunStats
    ) async throws {
        let progress = ProgressReporter(total: items.count, style: config.progress, interval: config.progressInterval)
        // Only worth stopping when items would remain; a short run simply finishes and reports.
        let breaker = FailureBreaker(limit: items.count > config.abortAfter ? config.abortAfter : 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = items.makeIterator()
            let process: @Sendable (TaskItem) async throws -> Void = { item in
                let outcome = try await annotator.annotate(item) { await stats.add(usage: $0) }
                switch outcome {
                case let .record(record):
                    try await output.append(record)
                    await stats.add(record: record)
                    progress.advance(failed: false)
                case let .failure(failure):
                    try await failures.append(failure)
                    await stats.add(failure: failure.kind)
                    progress.advance(failed: true)
                }
                try await breaker.observe(outcome)
            }
            for _ in 0..<config.endpoint.concurrency {
                guard let item = next.next() else { break }
                group.addTask { try await process(item) }
            }
            while try await group.next() != nil {
                if let item = next.next() { group.addTask { try await process(item) } }
            }
        }
        progress.finish()
    }

    /// Stops a run whose first `limit` items all failed at the endpoint with the same kind.
    actor FailureBreaker {
        let limit: Int
        var seen = 0
        var kinds = Set<String>()

        init(limit: Int) { self.limit = limit }

        func observe(_ outcome: ItemOutcome) throws {
            guard limit > 0, seen < limit else { return }
            seen += 1
            guard case let .failure(failure) = outcome, failure.kind != "parse", failure.kind != "prompt" else {
                seen = limit  // one success (or a content problem) proves the endpoint works
                return
            }
            kinds.insert(failure.kind)
            if seen == limit, kinds.count == 1 {
                throw AnnotationError.endpointFailing(items: limit, kind: failure.kind, reason: failure.reason)
            }
        }
    }

    /// A code run without a working interpreter would record every item as a failed test; stop instead.
    private func checkPython() async throws {
        let probe = try await Sandbox(limits: config.sandbox).run(code: "", tests: "def test_ok():\n    pass\n")
        guard probe.passed else {
            let detail = (probe.stderr + probe.stdout).trimmingCharacters(in: .whitespacesAndNewlines)
            throw SandboxError(
                detail: "'\(config.sandbox.python)' cannot run a trivial test (exit \(probe.exitCode)): "
                    + "\(detail.clippedMiddle(400)); set sandbox.python")
        }
        // What the machine allowed (namespaces, process limit), so a weaker sandbox is never a surprise.
        let isolation = SandboxIsolation.current
        if isolation.isComplete {
            logger.notice("\(isolation)")
        } else {
            logger.warning("\(isolation)")
        }
    }

    /// Drops from the failures file every id the output now holds (a `--retry-failed` run annotated it), so the
    /// file lists only what is still failing. Written beside it and renamed: a kill leaves the old file or the new.
    private func compactFailures() throws {
        let path = config.failuresPath
        guard FileManager.default.fileExists(atPath: path) else { return }
        let done = Set(try JSONLScan.read(path: config.output, repair: false).ids)
        let failures = try JSONLScan.read(path: path, repair: false)
        guard failures.ids.contains(where: done.contains) || Set(failures.ids).count < failures.ids.count else { return }
        let data = (try? InputFile.read(path: path)) ?? Data()
        // Still failing: not in the output, and only the latest failure of an id retried more than once.
        var latest: [String: Int] = [:]
        let lines = JSONLines.lines(data, dropsByteOrderMark: false).map { line -> (String?, Data) in
            let object = try? JSONLines.object(line.bytes).get()
            return (object?["id"]?.stringValue, line.bytes)
        }
        for (index, (id, _)) in lines.enumerated() { if let id { latest[id] = index } }
        let kept = lines.enumerated().filter { index, entry in
            guard let id = entry.0 else { return true }
            return !done.contains(id) && latest[id] == index
        }.map(\.element.1)
        let temporary = path + ".compacting"
        do {
            let writer = try JSONLWriter(path: temporary)
            try writer.append(Data(kept.map { $0 + [0x0A] }.joined()))
            writer.close()
            guard rename(temporary, path) == 0 else { throw AnnotationError.io(path: path, detail: "cannot replace") }
        } catch {
            unlink(temporary)
            throw AnnotationError.io(path: path, detail: "cannot drop the ids annotated since (\(error))")
        }
    }

    private func saveResolvedConfig() throws {
        let path = config.output + ".config.yaml"
        try ConfigFile.save(config.saved, to: path)
    }
}
