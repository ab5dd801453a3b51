import Foundation
import JSON

/// Bounds on what a chat template may make the interpreter do. A template comes with a model directory and
/// may be hostile: without bounds a 30,000-deep expression overflows the stack, `range(1000000000)` aborts on
/// allocation, and two nested `range(10000)` loops keep a server thread busy for minutes. Hitting a bound is a
/// `TokenizerError.limit` naming it. The defaults are far above what the Llama, Qwen, Mistral and SmolLM
/// templates need (a few levels of nesting, a few loop iterations per message, output the size of the chat).
public struct TemplateLimits: Sendable, Equatable {
    /// Nesting of blocks (`if`, `for`), of expressions and of list or dict values.
    public var maxDepth = 64
    /// Loop iterations summed over the whole render, and the length of any `range()`.
    public var maxIterations = 100_000
    /// Bytes of the rendered output, and of any one string or list the template builds.
    public var maxOutputBytes = 8 << 20
    /// Work units (iterations, filter calls, values visited while checking nesting) for the whole render.
    public var maxSteps = 2_000_000

    /// The defaults above.
    public init() {}

    static let `default` = TemplateLimits()

    func exceeded(_ name: String, _ limit: Int) -> TokenizerError { .limit(name: name, limit: limit) }
}

extension JinjaExpr {
    /// The nesting depth of the expression, counting no further than `cap` (expression trees are never shared,
    /// so this visits each node once).
    func depth(cap: Int) -> Int {
        guard cap > 0 else { return 1 }
        let below = cap - 1
        func most(_ items: [JinjaExpr]) -> Int { items.reduce(0) { max($0, $1.depth(cap: below)) } }
        switch self {
        case .literal, .name: return 1
        case .attribute(let base, _): return 1 + base.depth(cap: below)
        case .index(let base, let index): return 1 + most([base, index])
        case .slice(let base, let lower, let upper): return 1 + most([base] + [lower, upper].compactMap { $0 })
        case .call(let callee, let args, let kwargs): return 1 + most([callee] + args + kwargs.map(\.1))
        case .filter(let base, _, let args, let kwargs): return 1 + most([base] + args + kwargs.map(\.1))
        case .test(let base, _, _, let args): return 1 + most([base] + args)
        case .unary(_, let e): return 1 + e.depth(cap: below)
        case .binary(_, let l, let r): return 1 + most([l, r])
        case .conditional(let c, let t, let o): return 1 + most([c, t] + [o].compactMap { $0 })
        case .list(let items): return 1 + most(items)
        case .dict(let pairs): return 1 + most(pairs.flatMap { [$0.0, $0.1] })
        }
    }
}

extension JinjaValue {
    /// The nesting depth of lists and dicts in the value, counting no further than `cap`; each value visited
    /// costs a step of `steps` (values can share parts, so the visit is paid for, not assumed small).
    func nesting(cap: Int, steps: inout Int) -> Int {
        steps -= 1
        guard cap > 0, steps > 0 else { return 1 }
        switch self {
        case .array(let items):
            var deepest = 0
            for item in items where item.isContainer {
                deepest = max(deepest, item.nesting(cap: cap - 1, steps: &steps))
                if steps <= 0 { break }
            }
            return 1 + deepest
        case .dict(let pairs):
            var deepest = 0
            for (_, item) in pairs where item.isContainer {
                deepest = max(deepest, item.nesting(cap: cap - 1, steps: &steps))
                if steps <= 0 { break }
            }
            return 1 + deepest
        default:
            return 0
        }
    }

    var isContainer: Bool {
        switch self {
        case .array, .dict: return true
        default: return false
        }
    }
}

/// What one render has used of its `TemplateLimits`; shared by the interpreter, its filters and the built-in
/// functions, so every path that loops, builds or prints pays into the same account.
final class RenderBudget {
    let limits: TemplateLimits
    private var iterations = 0
    private var steps: Int

    init(_ limits: TemplateLimits) {
        self.limits = limits
        steps = limits.maxSteps
    }

    /// Pays `units` of work (at least one).
    func charge(_ units: Int = 1) throws {
        steps -= max(1, units)
        guard steps >= 0 else { throw limits.exceeded("work steps", limits.maxSteps) }
    }

    /// Pays for the work of a string operation over `s` (one unit per 16 bytes).
    func charge(over s: String) throws { try charge(1 + s.utf8.count / 16) }

    /// Counts one loop iteration (or one item a loop's filter looked at).
    func iterate() throws {
        iterations += 1
        guard iterations <= limits.maxIterations else { throw limits.exceeded("loop iterations", limits.maxIterations) }
        try charge()
    }

    /// Refuses a loop or `range()` of more than `maxIterations` items before anything is allocated for it.
    func checkLength(_ count: Int) throws {
        guard count <= limits.maxIterations else { throw limits.exceeded("loop iterations", limits.maxIterations) }
    }

    /// `s`, unless it is longer than the output limit.
    func checked(_ s: String) throws -> String {
        guard s.utf8.count <= limits.maxOutputBytes else { throw limits.exceeded("output size", limits.maxOutputBytes) }
        return s
    }

    /// `v`, unless its lists and dicts nest deeper than `maxDepth` or it has more than `maxIterations` items.
    func checked(_ v: JinjaValue) throws -> JinjaValue {
        var remaining = limits.maxSteps / 10
        let depth = v.nesting(cap: limits.maxDepth + 1, steps: &remaining)
        try charge(limits.maxSteps / 10 - remaining)
        guard depth <= limits.maxDepth else { throw limits.exceeded("nesting depth", limits.maxDepth) }
        if case .array(let items) = v { try checkLength(items.count) }
        return v
    }

    /// `str(v)` as the template prints it, refused before it is built when it would pass the output limit.
    func text(_ v: JinjaValue) throws -> String {
        switch v {
        case .array, .dict, .namespace:
            var remaining = limits.maxSteps / 10
            let size = v.printedSize(cap: limits.maxOutputBytes, depth: limits.maxDepth, steps: &remaining)
            try charge(limits.maxSteps / 10 - remaining)
            guard size <= limits.maxOutputBytes else { throw limits.exceeded("output size", limits.maxOutputBytes) }
            return try checked(v.rendered)
        default:
            return v.rendered
        }
    }

    /// `tojson` of `v`, bounded likewise; `indent` above 64 is refused (it sizes the padding).
    func json(_ v: JinjaValue, indent: Int?) throws -> String {
        if let indent, !(0...64).contains(indent) { throw TokenizerError.template("tojson indent \(indent) is not in 0...64") }
        var remaining = limits.maxSteps / 10
        let size = v.printedSize(cap: limits.maxOutputBytes, depth: limits.maxDepth, steps: &remaining)
        try charge(limits.maxSteps / 10 - remaining)
        // Indentation pads each item by its depth × indent; items are a fraction of the bytes, so this bounds it.
        let padded = size.multipliedReportingOverflow(by: 1 + 4 * (indent ?? 0))
        guard size <= limits.maxOutputBytes, !padded.overflow, padded.partialValue <= limits.maxOutputBytes * 8 else {
            throw limits.exceeded("output size", limits.maxOutputBytes)
        }
        return try checked(v.json(indent: indent))
    }
}

extension JinjaValue {
    /// About how many bytes `str()` or `tojson` of the value print, counting no further than `cap` (a value that
    /// shares one part many times prints it many times), and `cap + 1` for a namespace cycle or too deep a value.
    func printedSize(cap: Int, depth: Int, steps: inout Int) -> Int {
        steps -= 1
        guard depth >= 0, steps > 0 else { return cap + 1 }
        var total = 2
        func add(_ child: JinjaValue) -> Bool {
            total += 2 + child.printedSize(cap: cap - total, depth: depth - 1, steps: &steps)
            return total <= cap
        }
        switch self {
        case .string(let s): return s.utf8.count + 2
        case .array(let items):
            for item in items where !add(item) { return cap + 1 }
        case .dict(let pairs):
            for (key, item) in pairs {
                total += key.utf8.count + 4
                if !add(item) { return cap + 1 }
            }
        case .namespace(let ns):
            for (key, item) in ns.values {
                total += key.utf8.count + 4
                if !add(item) { return cap + 1 }
            }
        default: return 24
        }
        return total
    }
}

extension RenderBudget {
    /// `a + b`, refused before it is built when it would pass the output limit.
    func concatenated(_ a: String, _ b: String) throws -> String {
        guard a.utf8.count + b.utf8.count <= limits.maxOutputBytes else {
            throw limits.exceeded("output size", limits.maxOutputBytes)
        }
        try charge(1 + (a.utf8.count + b.utf8.count) / 16)
        return a + b
    }

    /// `s.replace(old, new)`, refused before it is built when it would pass the output limit.
    func replacing(_ s: String, _ old: String, with new: String) throws -> String {
        // The work is one step per possible replacement (Foundation's cost grows with their number).
        try charge(1 + s.utf8.count / max(1, old.utf8.count))
        if !old.isEmpty && new.utf8.count > old.utf8.count {
            let growth = (new.utf8.count - old.utf8.count).multipliedReportingOverflow(by: s.utf8.count / old.utf8.count)
            guard !growth.overflow, s.utf8.count + growth.partialValue <= limits.maxOutputBytes else {
                throw limits.exceeded("output size", limits.maxOutputBytes)
            }
        } else if old.isEmpty {
            // Python inserts `new` between every character.
            let (growth, overflow) = new.utf8.count.multipliedReportingOverflow(by: s.unicodeScalars.count + 1)
            guard !overflow, s.utf8.count + growth <= limits.maxOutputBytes else {
                throw limits.exceeded("output size", limits.maxOutputBytes)
            }
        }
        return try checked(s.replacingOccurrences(of: old, with: new))
    }
}

extension JinjaValue {
    /// A short description for error messages, never the whole of a large value.
    var brief: String {
        switch self {
        case .array(let items): return "a list of \(items.count) items"
        case .dict(let pairs): return "a dict of \(pairs.count) items"
        case .string(let s): return JSONValue.quoted(String(s.prefix(40)))
        default: return String(rendered.prefix(40))
        }
    }
}
