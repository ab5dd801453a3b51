import Foundation
import Models
import SafeTensors
import Tokenizers
import Testing

/// Seeded mutations of JSON values: a random node replaced by a hostile value, deleted, or nudged. Shared by the
/// model-directory fuzz here (config.json, the safetensors header) and, in a copy, the tokenizer fuzz.
struct JSONMutator {
    var rng: SplitMix64

    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }

    /// Values that broke parsers and size checks before: wrong types, zero, negatives, huge and fractional numbers.
    static var hostile: [Any] { [
        0, -1, 1, 2, 3, 2.5, 900.5, 1e12, 4_294_967_301, 9.0e15, 1e300, -1e300, Int.max, Int.min, true, false, "",
        "1e-5", "x", "\u{0}", NSNull(), [Any](), [String: Any](), ["2"], [1, 2], ["a": 1],
    ] }

    /// Every path (keys and indices) in `value`, up to `limit` of them.
    func paths(_ value: Any, prefix: [Any] = [], limit: Int = 4000, into out: inout [[Any]]) {
        guard out.count < limit else { return }
        out.append(prefix)
        if let object = value as? [String: Any] {
            for key in object.keys.sorted() { paths(object[key]!, prefix: prefix + [key], limit: limit, into: &out) }
        } else if let array = value as? [Any] {
            for (i, item) in array.enumerated() { paths(item, prefix: prefix + [i], limit: limit, into: &out) }
        }
    }

    /// `value` with the node at `path` replaced by `transform(node)` (nil deletes a member or element).
    func replacing(_ value: Any, at path: ArraySlice<Any>, _ transform: (Any) -> Any?) -> Any? {
        guard let head = path.first else { return transform(value) }
        if var object = value as? [String: Any], let key = head as? String, let child = object[key] {
            object[key] = replacing(child, at: path.dropFirst(), transform)
            return object
        }
        if var array = value as? [Any], let index = head as? Int, index < array.count {
            if let replaced = replacing(array[index], at: path.dropFirst(), transform) {
                array[index] = replaced
            } else {
                array.remove(at: index)
            }
            return array
        }
        return value
    }

    /// One mutation of `root`.
    mutating func mutate(_ root: Any) -> Any {
        var all: [[Any]] = []
        paths(root, into: &all)
        let path = all[below(all.count)]
        let choice = below(10)
        let hostile = Self.hostile[below(Self.hostile.count)]
        var rng = self.rng
        let result = replacing(root, at: path[...]) { node in
            switch choice {
            case 0: return nil
            case 1:
                if let n = node as? NSNumber, String(cString: n.objCType) != "c" {
                    return n.doubleValue * [0, -1, 2, 1000, 1e9, 0.5][Int(rng.next() % 6)]
                }
                return hostile
            case 2:
                if let s = node as? String { return String(s.shuffled(using: &rng).prefix(Int(rng.next() % 8))) }
                return hostile
            default: return hostile
            }
        }
        self.rng = rng
        return result ?? root
    }

    /// Raw byte damage: flips, truncation, or a run of random bytes, within the first `span` bytes.
    mutating func damage(_ bytes: [UInt8], span: Int) -> [UInt8] {
        var out = bytes
        guard !out.isEmpty else { return out }
        let limit = min(span, out.count)
        switch below(3) {
        case 0:
            for _ in 0..<(1 + below(4)) { out[below(limit)] ^= UInt8(truncatingIfNeeded: 1 << below(8)) }
        case 1:
            out.removeLast(out.count - below(out.count))
        default:
            let at = below(limit)
            out.insert(contentsOf: (0..<(1 + below(16))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        }
        return out
    }
}

/// A deadline per fuzz case. The time budget is checked only between cases, so a case that hangs would block
/// the whole test run; past `deadline` seconds in one case the watchdog names the suite, seed and case and
/// ends the process (by default), which fails the run at once and says what to reproduce.
// Unchecked Sendable: its case and stop flag are read and written under its lock; the rest is fixed at init.
final class FuzzWatchdog: @unchecked Sendable {
    let name: String, seed: UInt64, deadline: Double
    private let onTimeout: (String) -> Void
    private let lock = NSLock()
    private var current: (index: Int, started: Date)?
    private var stopped = false

    init(name: String, seed: UInt64, deadline: Double = 20,
         onTimeout: @escaping (String) -> Void = { message in
             FileHandle.standardError.write(Data((message + "\n").utf8))
             exit(1)
         }) {
        self.name = name
        self.seed = seed
        self.deadline = deadline
        self.onTimeout = onTimeout
        let thread = Thread { [self] in watch() }
        thread.name = "fuzz-watchdog"
        thread.start()
    }

    /// Case `index` starts now.
    func begin(_ index: Int) { lock.withLock { current = (index, Date()) } }

    /// No more cases: the watchdog thread ends.
    func stop() { lock.withLock { stopped = true } }

    private func watch() {
        while true {
            Thread.sleep(forTimeInterval: min(0.25, deadline / 4))
            let (stopped, current) = lock.withLock { (self.stopped, self.current) }
            if stopped { return }
            if let current, Date().timeIntervalSince(current.started) > deadline {
                stop()
                onTimeout("\(name): case \(current.index) (seed \(seed)) ran past its \(deadline) s deadline")
                return
            }
        }
    }
}

/// A few hundred seeded mutations of a fixture model directory: every one loads and runs, or fails with a
/// typed error. A crash, abort or hang fails the run (the test process dies, or the watchdog ends it).
@Suite struct FuzzModelDirectoryTests {
    static let cases = 300
    static let timeBudget = 60.0

    /// The safetensors header as a JSON object and the data bytes after it.
    static func split(_ bytes: [UInt8]) -> ([String: Any], [UInt8]) {
        let length = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = try! JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as! [String: Any]
        return (header, Array(bytes[(8 + length)...]))
    }

    /// JSON text of a mutated value; a root that is no longer an object or array (or holds an infinity, which
    /// JSONSerialization would trap on) is written as its description, which is just as hostile.
    static func serialize(_ value: Any) -> Data {
        guard JSONSerialization.isValidJSONObject(value), let data = try? JSONSerialization.data(withJSONObject: value) else {
            return Data("\(value)".utf8)
        }
        return data
    }

    static func join(_ header: Any, _ data: [UInt8]) -> [UInt8] {
        let json = serialize(header)
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + Array(json) + data
    }

    /// A case that hangs is reported with its suite, seed and number once past the deadline, not waited on.
    @Test func watchdogNamesTheCaseThatHangs() {
        let fired = NSCondition()
        var message: String?
        let watchdog = FuzzWatchdog(name: "Fuzz", seed: 15, deadline: 1) { text in
            fired.withLock {
                message = text
                fired.signal()
            }
        }
        watchdog.begin(0)
        Thread.sleep(forTimeInterval: 0.1)
        watchdog.begin(7)  // a new case restarts the clock
        let reported = fired.withLock { () -> String? in
            let limit = Date().addingTimeInterval(5)
            while message == nil && fired.wait(until: limit) {}
            return message
        }
        #expect(reported == "Fuzz: case 7 (seed 15) ran past its 1.0 s deadline")
    }

    /// Gemma 3's fixture too: its config has the most fields to mutate (layer kinds, two rope bases, softcapping).
    @Test(arguments: ["llama-gqa", "gemma3-local"])
    func mutatedModelDirectoriesNeverCrash(model name: String) throws {
        let source = Fixtures.model(name)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source + "/config.json")))
        let weights = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source + "/model.safetensors")))
        let (header, data) = Self.split(weights)
        let directory = NSTemporaryDirectory() + "fuzz-model-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var mutator = JSONMutator(rng: SplitMix64(seed: 15))
        let watchdog = FuzzWatchdog(name: "FuzzModelDirectoryTests", seed: 15)
        defer { watchdog.stop() }
        var loaded = 0, refused = 0
        let started = Date()
        for index in 0..<Self.cases {
            guard Date().timeIntervalSince(started) < Self.timeBudget else { break }
            watchdog.begin(index)
            var configBytes = [UInt8](try JSONSerialization.data(withJSONObject: config))
            var weightBytes = weights
            switch index % 4 {
            case 0:
                configBytes = [UInt8](Self.serialize(mutator.mutate(config)))
            case 1:
                configBytes = mutator.damage(configBytes, span: configBytes.count)
            case 2:
                weightBytes = Self.join(mutator.mutate(header), data)
            default:
                weightBytes = mutator.damage(weights, span: 8 + weights.count - data.count)
            }
            try Data(configBytes).write(to: URL(fileURLWithPath: directory + "/config.json"))
            try Data(weightBytes).write(to: URL(fileURLWithPath: directory + "/model.safetensors"))
            do {
                let model = try LlamaModel(directory: directory)
                let vocab = model.config.vocabSize
                _ = try model.score([[1, 2, 3], [min(vocab - 1, 7)]])
                _ = try? model.score([[1, vocab, 2]])
                loaded += 1
            } catch is ModelError {
                refused += 1
            } catch is SafeTensorsError {
                refused += 1
            }
        }
        #expect(loaded + refused >= 100, "too few cases ran in the time budget")
        #expect(refused > loaded / 4, "the mutations should mostly be refused (\(refused) refused, \(loaded) loaded)")
    }
}

/// A few hundred seeded mutations of a fixture tokenizer.json: each loads and encodes, decodes and streams, or
/// fails with a `TokenizerError`.
@Suite struct FuzzTokenizerTests {
    static let cases = 300
    static let timeBudget = 60.0

    @Test func mutatedTokenizerFilesNeverCrash() throws {
        let path = Fixtures.root.appendingPathComponent("models/chat-smollm/tokenizer.json")
        let original = [UInt8](try Data(contentsOf: path))
        let json = try JSONSerialization.jsonObject(with: Data(original))
        var mutator = JSONMutator(rng: SplitMix64(seed: 9))
        let watchdog = FuzzWatchdog(name: "FuzzTokenizerTests", seed: 9)
        defer { watchdog.stop() }
        let texts = ["Hello world!", "  spaces\tand\nnewlines  ", "émoji 🙂 und Ümlaut", "<|im_start|>user\nhi<|im_end|>", ""]
        var loaded = 0, refused = 0
        let started = Date()
        for index in 0..<Self.cases {
            guard Date().timeIntervalSince(started) < Self.timeBudget else { break }
            watchdog.begin(index)
            var bytes: [UInt8]
            if index % 3 == 2 {
                bytes = mutator.damage(original, span: original.count)
            } else {
                var mutated = json
                for _ in 0..<(1 + index % 3) { mutated = mutator.mutate(mutated) }
                bytes = [UInt8](FuzzModelDirectoryTests.serialize(mutated))
            }
            do {
                let tokenizer = try Tokenizer(tokenizerJSON: Data(bytes))
                for text in texts {
                    let encoding = tokenizer.encode(text, addSpecialTokens: true)
                    _ = tokenizer.decode(encoding.ids)
                }
                let ids = (0..<32).map { _ in mutator.below(tokenizer.vocabSize + 8) - 4 }
                _ = tokenizer.decode(ids, skipSpecialTokens: true)
                for id in ids { _ = tokenizer.tokenBytes(id) }
                loaded += 1
            } catch is TokenizerError {
                refused += 1
            }
        }
        #expect(loaded + refused >= 100, "too few cases ran in the time budget")
        #expect(loaded > 0 && refused > 0, "\(loaded) loaded, \(refused) refused")
    }
}
