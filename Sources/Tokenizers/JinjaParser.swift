/// Expressions and statements of the Jinja subset chat templates use.
indirect enum JinjaExpr {
    case literal(JinjaValue)
    case name(String)
    case attribute(JinjaExpr, String)
    case index(JinjaExpr, JinjaExpr)
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?)
    case call(JinjaExpr, [JinjaExpr], [(String, JinjaExpr)])
    case filter(JinjaExpr, String, [JinjaExpr], [(String, JinjaExpr)])
    case test(JinjaExpr, String, negated: Bool, [JinjaExpr])
    case unary(String, JinjaExpr)
    case binary(String, JinjaExpr, JinjaExpr)
    case conditional(JinjaExpr, then: JinjaExpr, otherwise: JinjaExpr?)
    case list([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
}

indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpr)
    case branches([(JinjaExpr, [JinjaNode])], otherwise: [JinjaNode])
    case loop(names: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode], otherwise: [JinjaNode])
    case assign(target: JinjaExpr, value: JinjaExpr)
}

/// Parses lexed segments into a tree; unknown statements are a `TokenizerError.template`.
struct JinjaParser {
    private let segments: [JinjaSegment]
    private var position = 0
    private let maxDepth: Int
    /// Blocks open around the current position (`if`, `for`).
    private var nesting = 0

    static func parse(_ template: String, limits: TemplateLimits = .default) throws -> [JinjaNode] {
        var parser = JinjaParser(segments: try JinjaLexer.segments(template), maxDepth: limits.maxDepth)
        let (nodes, end) = try parser.block(until: [])
        if let end { throw TokenizerError.template("unexpected {% \(end) %}") }
        return nodes
    }

    private init(segments: [JinjaSegment], maxDepth: Int) {
        self.segments = segments
        self.maxDepth = maxDepth
    }

    private func expression(_ tokens: [JinjaToken]) throws -> JinjaExpr {
        try ExpressionParser.parse(tokens, maxDepth: maxDepth)
    }

    /// Nodes up to one of the `until` statements (returned, with its tokens left for the caller).
    private mutating func block(until: Set<String>) throws -> ([JinjaNode], String?) {
        var nodes: [JinjaNode] = []
        while position < segments.count {
            let segment = segments[position]
            switch segment {
            case .text(let t):
                nodes.append(.text(t))
                position += 1
            case .output(let tokens):
                var e = ExpressionParser(tokens: tokens, maxDepth: maxDepth)
                nodes.append(.output(try e.parseAll()))
                position += 1
            case .statement(let tokens):
                guard case .name(let keyword)? = tokens.first else { throw TokenizerError.template("empty statement") }
                if until.contains(keyword) { return (nodes, keyword) }
                position += 1
                nodes.append(try statement(keyword, Array(tokens.dropFirst())))
            }
        }
        if !until.isEmpty { throw TokenizerError.template("missing {% \(until.sorted().joined(separator: " / ")) %}") }
        return (nodes, nil)
    }

    private mutating func statementTokens() -> [JinjaToken] {
        guard case .statement(let tokens) = segments[position] else { return [] }
        position += 1
        return Array(tokens.dropFirst())
    }

    private mutating func statement(_ keyword: String, _ rest: [JinjaToken]) throws -> JinjaNode {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= maxDepth else { throw TokenizerError.limit(name: "nesting depth", limit: maxDepth) }
        switch keyword {
        case "if":
            var branches: [(JinjaExpr, [JinjaNode])] = []
            var condition = try expression(rest)
            var otherwise: [JinjaNode] = []
            while true {
                let (body, end) = try block(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                let tokens = statementTokens()
                if end == "elif" {
                    condition = try expression(tokens)
                    continue
                }
                if end == "else" {
                    let (elseBody, _) = try block(until: ["endif"])
                    otherwise = elseBody
                    _ = statementTokens()
                }
                break
            }
            return .branches(branches, otherwise: otherwise)
        case "for":
            var names: [String] = []
            var k = 0
            while k < rest.count, case .name(let n) = rest[k], n != "in" {
                names.append(n)
                k += 1
                if k < rest.count, rest[k] == .op(",") { k += 1 }
            }
            guard k < rest.count, rest[k] == .name("in"), !names.isEmpty else {
                throw TokenizerError.template("expected 'for NAME in EXPR'")
            }
            var e = ExpressionParser(tokens: Array(rest[(k + 1)...]), maxDepth: maxDepth)
            let iterable = try e.parseNoConditional()
            var filter: JinjaExpr?
            if e.peek == .name("if") {
                e.advance()
                filter = try e.parseNoConditional()
            }
            try e.expectEnd()
            let (body, end) = try block(until: ["else", "endfor"])
            _ = statementTokens()
            var otherwise: [JinjaNode] = []
            if end == "else" {
                otherwise = try block(until: ["endfor"]).0
                _ = statementTokens()
            }
            return .loop(names: names, iterable: iterable, filter: filter, body: body, otherwise: otherwise)
        case "set":
            guard let eq = rest.firstIndex(of: .op("=")) else {
                throw TokenizerError.template("block {% set %} is not supported")
            }
            let target = try expression(Array(rest[..<eq]))
            let value = try expression(Array(rest[(eq + 1)...]))
            return .assign(target: target, value: value)
        default:
            throw TokenizerError.template("statement {% \(keyword) %} is not supported")
        }
    }
}

/// Precedence climbing over expression tokens, following Jinja's grammar (filters and tests bind tighter
/// than arithmetic: `a + b | trim` trims `b`).
struct ExpressionParser {
    private let tokens: [JinjaToken]
    private var i = 0
    private let maxDepth: Int
    /// Parse functions active for nested sub-expressions (parentheses, unary operators).
    private var nesting = 0

    init(tokens: [JinjaToken], maxDepth: Int = TemplateLimits.default.maxDepth) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    /// The single expression `tokens` spell.
    static func parse(_ tokens: [JinjaToken], maxDepth: Int = TemplateLimits.default.maxDepth) throws -> JinjaExpr {
        var parser = ExpressionParser(tokens: tokens, maxDepth: maxDepth)
        return try parser.parseAllConsuming()
    }

    private var depthError: TokenizerError { .limit(name: "nesting depth", limit: maxDepth) }

    /// Counts one level of parser recursion; the caller decrements with `leave()`.
    private mutating func enter() throws {
        nesting += 1
        guard nesting <= maxDepth else { throw depthError }
    }

    private mutating func leave() { nesting -= 1 }

    /// `e`, once its tree is no deeper than `maxDepth` (chains like `a + b + ...` grow in a loop, not by recursion).
    private func bounded(_ e: JinjaExpr) throws -> JinjaExpr {
        guard e.depth(cap: maxDepth + 1) <= maxDepth else { throw depthError }
        return e
    }

    var peek: JinjaToken? { i < tokens.count ? tokens[i] : nil }
    mutating func advance() { i += 1 }

    func expectEnd() throws {
        if i < tokens.count { throw TokenizerError.template("unexpected token \(tokens[i]) in expression") }
    }

    mutating func parseAll() throws -> JinjaExpr { try parseAllConsuming() }

    mutating func parseAllConsuming() throws -> JinjaExpr {
        let e = try parseExpression()
        try expectEnd()
        return e
    }

    private mutating func accept(_ t: JinjaToken) -> Bool {
        if peek == t {
            i += 1
            return true
        }
        return false
    }

    private mutating func expect(_ t: JinjaToken) throws {
        guard accept(t) else { throw TokenizerError.template("expected \(t), found \(peek.map { "\($0)" } ?? "end")") }
    }

    mutating func parseExpression() throws -> JinjaExpr {
        try enter()
        defer { leave() }
        let value = try parseOr()
        if accept(.name("if")) {
            let condition = try parseOr()
            var otherwise: JinjaExpr?
            if accept(.name("else")) { otherwise = try parseExpression() }
            return try bounded(.conditional(condition, then: value, otherwise: otherwise))
        }
        return value
    }

    mutating func parseNoConditional() throws -> JinjaExpr { try parseOr() }

    private mutating func parseOr() throws -> JinjaExpr {
        var left = try parseAnd()
        while accept(.name("or")) { left = try bounded(.binary("or", left, try parseAnd())) }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpr {
        var left = try parseNot()
        while accept(.name("and")) { left = try bounded(.binary("and", left, try parseNot())) }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpr {
        if accept(.name("not")) {
            try enter()
            defer { leave() }
            return try bounded(.unary("not", try parseNot()))
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpr {
        var left = try parseMath1()
        while true {
            if let t = peek, case .op(let o) = t, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                advance()
                left = try bounded(.binary(o, left, try parseMath1()))
            } else if accept(.name("in")) {
                left = try bounded(.binary("in", left, try parseMath1()))
            } else if peek == .name("not"), i + 1 < tokens.count, tokens[i + 1] == .name("in") {
                i += 2
                left = try bounded(.unary("not", .binary("in", left, try parseMath1())))
            } else {
                return left
            }
        }
    }

    private mutating func parseMath1() throws -> JinjaExpr {
        var left = try parseConcat()
        while let t = peek, case .op(let o) = t, o == "+" || o == "-" {
            advance()
            left = try bounded(.binary(o, left, try parseConcat()))
        }
        return left
    }

    private mutating func parseConcat() throws -> JinjaExpr {
        var left = try parseMath2()
        while accept(.op("~")) { left = try bounded(.binary("~", left, try parseMath2())) }
        return left
    }

    private mutating func parseMath2() throws -> JinjaExpr {
        var left = try parseUnary()
        while let t = peek, case .op(let o) = t, ["*", "/", "//", "%"].contains(o) {
            advance()
            left = try bounded(.binary(o, left, try parseUnary()))
        }
        return left
    }

    private mutating func parseUnary() throws -> JinjaExpr {
        if peek == .op("-") || peek == .op("+") {
            let negate = peek == .op("-")
            advance()
            try enter()
            defer { leave() }
            let operand = try parseUnary()
            return negate ? try bounded(.unary("-", operand)) : operand
        }
        var node = try parsePostfix(try parsePrimary())
        while true {
            if accept(.op("|")) {
                guard case .name(let name)? = peek else { throw TokenizerError.template("expected a filter name") }
                advance()
                var args: [JinjaExpr] = []
                var kwargs: [(String, JinjaExpr)] = []
                if peek == .op("(") { (args, kwargs) = try parseArguments() }
                node = try bounded(.filter(node, name, args, kwargs))
            } else if accept(.name("is")) {
                let negated = accept(.name("not"))
                guard case .name(let name)? = peek else { throw TokenizerError.template("expected a test name") }
                advance()
                var args: [JinjaExpr] = []
                if peek == .op("(") { args = try parseArguments().0 }
                node = try bounded(.test(node, name, negated: negated, args))
            } else {
                return node
            }
        }
    }

    private mutating func parseArguments() throws -> ([JinjaExpr], [(String, JinjaExpr)]) {
        try expect(.op("("))
        var args: [JinjaExpr] = []
        var kwargs: [(String, JinjaExpr)] = []
        while !accept(.op(")")) {
            if case .name(let n)? = peek, i + 1 < tokens.count, tokens[i + 1] == .op("=") {
                i += 2
                kwargs.append((n, try parseExpression()))
            } else {
                args.append(try parseExpression())
            }
            if !accept(.op(",")) {
                try expect(.op(")"))
                break
            }
        }
        return (args, kwargs)
    }

    private mutating func parsePostfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var node = base
        while true {
            if accept(.op(".")) {
                guard case .name(let n)? = peek else { throw TokenizerError.template("expected an attribute name") }
                advance()
                node = try bounded(.attribute(node, n))
            } else if accept(.op("[")) {
                var lower: JinjaExpr?
                if peek != .op(":") { lower = try parseExpression() }
                if accept(.op(":")) {
                    var upper: JinjaExpr?
                    if peek != .op("]") { upper = try parseExpression() }
                    try expect(.op("]"))
                    node = try bounded(.slice(node, lower, upper))
                } else {
                    try expect(.op("]"))
                    guard let lower else { throw TokenizerError.template("empty subscript") }
                    node = try bounded(.index(node, lower))
                }
            } else if peek == .op("(") {
                let (args, kwargs) = try parseArguments()
                node = try bounded(.call(node, args, kwargs))
            } else {
                return node
            }
        }
    }

    private mutating func parsePrimary() throws -> JinjaExpr {
        guard let t = peek else { throw TokenizerError.template("unexpected end of expression") }
        advance()
        switch t {
        case .string(let s):
            var value = s
            while case .string(let more)? = peek {
                value += more
                advance()
            }
            return .literal(.string(value))
        case .integer(let n): return .literal(.int(n))
        case .float(let d): return .literal(.double(d))
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case .op("("):
            let e = try parseExpression()
            try expect(.op(")"))
            return e
        case .op("["):
            var items: [JinjaExpr] = []
            while !accept(.op("]")) {
                items.append(try parseExpression())
                if !accept(.op(",")) {
                    try expect(.op("]"))
                    break
                }
            }
            return try bounded(.list(items))
        case .op("{"):
            var pairs: [(JinjaExpr, JinjaExpr)] = []
            while !accept(.op("}")) {
                let key = try parseExpression()
                try expect(.op(":"))
                pairs.append((key, try parseExpression()))
                if !accept(.op(",")) {
                    try expect(.op("}"))
                    break
                }
            }
            return try bounded(.dict(pairs))
        default:
            throw TokenizerError.template("unexpected token \(t)")
        }
    }
}
