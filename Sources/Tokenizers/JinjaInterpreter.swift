import Foundation

/// Renders a parsed template. Scoping follows Jinja: a `for` body has its own scope, so `set` inside a
/// loop does not leak out (templates use `namespace()` for that); `if` blocks share the enclosing scope.
/// Every loop, value and string it makes is paid for from a `RenderBudget` (see `TemplateLimits`).
struct JinjaInterpreter {
    private var scopes: [[String: JinjaValue]]
    private var output = ""
    let budget: RenderBudget

    init(globals: [String: JinjaValue], budget: RenderBudget) {
        scopes = [globals]
        self.budget = budget
    }

    static func render(_ nodes: [JinjaNode], globals: [String: JinjaValue], budget: RenderBudget) throws -> String {
        var interpreter = JinjaInterpreter(globals: globals, budget: budget)
        try interpreter.run(nodes)
        return interpreter.output
    }

    private mutating func emit(_ text: String) throws {
        guard output.utf8.count + text.utf8.count <= budget.limits.maxOutputBytes else {
            throw budget.limits.exceeded("output size", budget.limits.maxOutputBytes)
        }
        output += text
    }

    private func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        return .undefined
    }

    private mutating func run(_ nodes: [JinjaNode]) throws {
        for node in nodes {
            switch node {
            case .text(let t): try emit(t)
            case .output(let e): try emit(try budget.text(try eval(e)))
            case .branches(let branches, let otherwise):
                var taken = false
                for (condition, body) in branches where try eval(condition).truthy {
                    try run(body)
                    taken = true
                    break
                }
                if !taken { try run(otherwise) }
            case .loop(let names, let iterable, let filter, let body, let otherwise):
                try runLoop(names, try eval(iterable), filter, body, otherwise)
            case .assign(let target, let value):
                let v = try eval(value)
                switch target {
                case .name(let n): scopes[scopes.count - 1][n] = v
                case .attribute(let base, let attr):
                    guard case .namespace(let ns) = try eval(base) else {
                        throw TokenizerError.template("cannot set attribute '\(attr)' on a non-namespace")
                    }
                    ns.values[attr] = v
                default: throw TokenizerError.template("unsupported assignment target")
                }
            }
        }
    }

    private func items(_ value: JinjaValue) throws -> [JinjaValue] {
        switch value {
        case .array(let a): return a
        case .dict(let d): return d.map { .string($0.0) }
        case .string(let s):
            try budget.charge(over: s)
            try budget.checkLength(s.unicodeScalars.count)
            return s.map { .string(String($0)) }
        case .undefined, .none: return []
        default: throw TokenizerError.template("cannot iterate over \(value.brief)")
        }
    }

    private mutating func runLoop(
        _ names: [String], _ iterable: JinjaValue, _ filter: JinjaExpr?,
        _ body: [JinjaNode], _ otherwise: [JinjaNode]
    ) throws {
        func bind(_ item: JinjaValue) throws -> [String: JinjaValue] {
            if names.count == 1 { return [names[0]: item] }
            guard case .array(let parts) = item, parts.count == names.count else {
                throw TokenizerError.template("cannot unpack \(item.brief) into \(names.count) names")
            }
            return Dictionary(uniqueKeysWithValues: zip(names, parts))
        }
        var selected: [[String: JinjaValue]] = []
        for item in try items(iterable) {
            try budget.charge()
            let bound = try bind(item)
            if let filter {
                scopes.append(bound)
                let keep = try eval(filter).truthy
                scopes.removeLast()
                if !keep { continue }
            }
            selected.append(bound)
        }
        if selected.isEmpty { return try run(otherwise) }
        for (index, bound) in selected.enumerated() {
            try budget.iterate()
            var scope = bound
            scope["loop"] = .dict([
                ("index0", .int(index)), ("index", .int(index + 1)), ("first", .bool(index == 0)),
                ("last", .bool(index == selected.count - 1)), ("length", .int(selected.count)),
                ("revindex0", .int(selected.count - 1 - index)), ("revindex", .int(selected.count - index)),
            ])
            scopes.append(scope)
            defer { scopes.removeLast() }
            try run(body)
        }
    }

    private func eval(_ expr: JinjaExpr) throws -> JinjaValue {
        try budget.charge()
        switch expr {
        case .literal(let v): return v
        case .name(let n): return lookup(n)
        case .list(let items): return try budget.checked(.array(try items.map(eval)))
        case .dict(let pairs): return try budget.checked(.dict(try pairs.map { (try budget.text(try eval($0.0)), try eval($0.1)) }))
        case .attribute(let base, let name):
            let b = try eval(base)
            if case .dict(let pairs) = b, !pairs.contains(where: { $0.0 == name }), dictMethods.contains(name) {
                return methodValue(b, name)
            }
            if case .string = b, stringMethods.contains(name) { return methodValue(b, name) }
            return b.member(name)
        case .index(let base, let index):
            return try subscriptValue(try eval(base), try eval(index))
        case .slice(let base, let lower, let upper):
            return try sliceValue(try eval(base), try lower.map(eval), try upper.map(eval))
        case .call(let callee, let args, let kwargs):
            guard case .function(let f) = try eval(callee) else {
                throw TokenizerError.template("\(callee) is not callable")
            }
            return try f.call(try args.map(eval), try kwargs.map { ($0.0, try eval($0.1)) })
        case .filter(let base, let name, let args, let kwargs):
            return try applyFilter(name, try eval(base), try args.map(eval), try kwargs.map { ($0.0, try eval($0.1)) })
        case .test(let base, let name, let negated, let args):
            let result = try applyTest(name, try eval(base), try args.map(eval))
            return .bool(negated ? !result : result)
        case .unary(let op, let e):
            let v = try eval(e)
            if op == "not" { return .bool(!v.truthy) }
            switch v {
            case .int(let n):
                guard n != Int.min else { throw TokenizerError.template("integer overflow negating \(n)") }
                return .int(-n)
            case .double(let d): return .double(-d)
            default: throw TokenizerError.template("cannot negate \(v.brief)")
            }
        case .conditional(let condition, let then, let otherwise):
            if try eval(condition).truthy { return try eval(then) }
            return try otherwise.map(eval) ?? .undefined
        case .binary(let op, let l, let r):
            if op == "and" {
                let a = try eval(l)
                return a.truthy ? try eval(r) : a
            }
            if op == "or" {
                let a = try eval(l)
                return a.truthy ? a : try eval(r)
            }
            return try binary(op, try eval(l), try eval(r))
        }
    }

    private let dictMethods: Set<String> = ["items", "keys", "values", "get"]
    private let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "lower", "upper", "startswith",
        "endswith", "split", "replace", "title", "capitalize",
    ]

    private func methodValue(_ base: JinjaValue, _ name: String) -> JinjaValue {
        let budget = budget
        return .function(
            JinjaFunction { args, _ in
                switch (base, name) {
                case (.dict(let d), "items"): return .array(d.map { .array([.string($0.0), $0.1]) })
                case (.dict(let d), "keys"): return .array(d.map { .string($0.0) })
                case (.dict(let d), "values"): return .array(d.map { $0.1 })
                case (.dict, "get"):
                    let v = base.member(try args.first.map(budget.text) ?? "")
                    return v.isUndefined ? (args.count > 1 ? args[1] : .none) : v
                case (.string(let s), _): return try JinjaInterpreter.stringMethod(s, name, args, budget: budget)
                default: throw TokenizerError.template("unknown method \(name)")
                }
            })
    }

    private static func stripped(_ s: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        var scalars = Array(s.unicodeScalars)
        let set = chars.map { Set($0.unicodeScalars) }
        func strip(_ c: Unicode.Scalar) -> Bool { set?.contains(c) ?? c.properties.isWhitespace }
        if trailing { while let last = scalars.last, strip(last) { scalars.removeLast() } }
        if leading { while let first = scalars.first, strip(first) { scalars.removeFirst() } }
        return String(String.UnicodeScalarView(scalars))
    }

    static func stringMethod(_ s: String, _ name: String, _ args: [JinjaValue], budget: RenderBudget) throws -> JinjaValue {
        try budget.charge(over: s)
        let arg0 = args.first.flatMap { if case .string(let a) = $0 { return a } else { return nil } }
        switch name {
        case "strip": return .string(stripped(s, arg0, leading: true, trailing: true))
        case "lstrip": return .string(stripped(s, arg0, leading: true, trailing: false))
        case "rstrip": return .string(stripped(s, arg0, leading: false, trailing: true))
        case "lower": return .string(s.lowercased())
        case "upper": return .string(s.uppercased())
        case "title": return .string(s.capitalized)
        case "capitalize": return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "startswith": return .bool(arg0.map { s.unicodeScalars.starts(with: $0.unicodeScalars) } ?? false)
        case "endswith":
            return .bool(
                arg0.map { Array(s.unicodeScalars).reversed().starts(with: Array($0.unicodeScalars).reversed()) }
                    ?? false)
        case "split":
            if let sep = arg0 { return .array(s.components(separatedBy: sep).map { .string($0) }) }
            return .array(s.split(whereSeparator: { $0.isWhitespace }).map { .string(String($0)) })
        case "replace":
            guard args.count >= 2 else { throw TokenizerError.template("replace needs two arguments") }
            return .string(try budget.replacing(s, try budget.text(args[0]), with: try budget.text(args[1])))
        default: throw TokenizerError.template("unknown string method \(name)")
        }
    }

    private func subscriptValue(_ base: JinjaValue, _ index: JinjaValue) throws -> JinjaValue {
        switch (base, index) {
        case (.array(let a), .int(let i)):
            let k = i < 0 ? a.count + i : i
            return k >= 0 && k < a.count ? a[k] : .undefined
        case (.string(let s), .int(let i)):
            try budget.charge(over: s)
            let chars = Array(s)
            let k = i < 0 ? chars.count + i : i
            return k >= 0 && k < chars.count ? .string(String(chars[k])) : .undefined
        case (_, .string(let key)): return base.member(key)
        case (.undefined, _): throw TokenizerError.template("cannot index an undefined value")
        default: return .undefined
        }
    }

    private func sliceValue(_ base: JinjaValue, _ lower: JinjaValue?, _ upper: JinjaValue?) throws -> JinjaValue {
        func bounds(_ n: Int) -> Range<Int> {
            func clamp(_ v: JinjaValue?, _ fallback: Int) -> Int {
                guard case .int(let i)? = v else { return fallback }
                return min(max(i < 0 ? n + i : i, 0), n)
            }
            let lo = clamp(lower, 0)
            let hi = clamp(upper, n)
            return lo < hi ? lo..<hi : lo..<lo
        }
        switch base {
        case .array(let a):
            try budget.charge(a.count)
            return .array(Array(a[bounds(a.count)]))
        case .string(let s):
            try budget.charge(over: s)
            let chars = Array(s)
            return .string(String(chars[bounds(chars.count)]))
        default: throw TokenizerError.template("cannot slice \(base.brief)")
        }
    }

    private func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
        switch op {
        case "==": return .bool(a.equals(b))
        case "!=": return .bool(!a.equals(b))
        case "in":
            switch b {
            case .array(let items):
                try budget.charge(items.count)
                return .bool(items.contains { $0.equals(a) })
            case .dict(let pairs):
                try budget.charge(pairs.count)
                let key = try budget.text(a)
                return .bool(pairs.contains { $0.0 == key })
            case .string(let s):
                try budget.charge(over: s)
                return .bool(s.contains(try budget.text(a)))
            case .undefined, .none: return .bool(false)
            default: throw TokenizerError.template("'in' needs a container")
            }
        case "~": return .string(try budget.concatenated(try budget.text(a), try budget.text(b)))
        default: break
        }
        switch (a, b) {
        case (.int(let x), .int(let y)):
            func exact(_ result: (partialValue: Int, overflow: Bool)) throws -> JinjaValue {
                guard !result.overflow else { throw TokenizerError.template("integer overflow in \(x) \(op) \(y)") }
                return .int(result.partialValue)
            }
            switch op {
            case "+": return try exact(x.addingReportingOverflow(y))
            case "-": return try exact(x.subtractingReportingOverflow(y))
            case "*": return try exact(x.multipliedReportingOverflow(by: y))
            case "//":
                guard y != 0 else { break }
                // Python floors: truncate, then step down when the signs differ and there is a remainder.
                let q = try exact(x.dividedReportingOverflow(by: y))
                guard case .int(let t) = q else { break }
                return .int(x % y != 0 && (x < 0) != (y < 0) ? t - 1 : t)
            case "%":
                guard y != 0 else { break }
                guard y != -1 else { return .int(0) }
                return .int(((x % y) + y) % y)
            case "/":
                guard y != 0 else { break }
                return .double(Double(x) / Double(y))
            case "<": return .bool(x < y)
            case ">": return .bool(x > y)
            case "<=": return .bool(x <= y)
            case ">=": return .bool(x >= y)
            default: break
            }
            throw TokenizerError.template("division by zero or unknown operator \(op)")
        case (.string(let x), .string(let y)):
            switch op {
            case "+": return .string(try budget.concatenated(x, y))
            case "<": return .bool(x < y)
            case ">": return .bool(x > y)
            default: break
            }
        case (.array(let x), .array(let y)) where op == "+":
            try budget.checkLength(x.count + y.count)
            try budget.charge(x.count + y.count)
            return .array(x + y)
        default: break
        }
        if let x = a.number, let y = b.number {
            switch op {
            case "+": return .double(x + y)
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/": return .double(x / y)
            case "<": return .bool(x < y)
            case ">": return .bool(x > y)
            case "<=": return .bool(x <= y)
            case ">=": return .bool(x >= y)
            default: break
            }
        }
        throw TokenizerError.template(
            "unsupported operand types for \(op): \(a.brief) and \(b.brief)")
    }
}

extension JinjaValue {
    var number: Double? {
        switch self {
        case .int(let n): return Double(n)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
}
