import Foundation

extension JinjaInterpreter {
    /// The filters the supported templates use; any other is a clear error.
    func applyFilter(
        _ name: String, _ value: JinjaValue, _ args: [JinjaValue],
        _ kwargs: [(String, JinjaValue)]
    ) throws -> JinjaValue {
        try budget.charge()
        switch name {
        case "trim":
            let text = try budget.text(value)
            try budget.charge(over: text)
            return .string(text.trimmingCharacters(in: .whitespacesAndNewlines))
        case "length", "count":
            switch value {
            case .string(let s): return .int(s.count)
            case .array(let a): return .int(a.count)
            case .dict(let d): return .int(d.count)
            default: throw TokenizerError.template("length of \(value.rendered) is undefined")
            }
        case "tojson":
            var indent: Int?
            if case .int(let n)? = kwargs.first(where: { $0.0 == "indent" })?.1 ?? args.first { indent = n }
            return .string(try budget.json(value, indent: indent))
        case "string": return .string(try budget.text(value))
        case "lower", "upper":
            let text = try budget.text(value)
            try budget.charge(over: text)
            return .string(name == "lower" ? text.lowercased() : text.uppercased())
        case "list":
            switch value {
            case .array: return value
            case .dict(let d): return .array(d.map { .string($0.0) })
            case .string(let s):
                try budget.charge(over: s)
                try budget.checkLength(s.unicodeScalars.count)
                return .array(s.map { .string(String($0)) })
            default: return .array([])
            }
        case "first":
            if case .array(let a) = value { return a.first ?? .undefined }
            return .undefined
        case "last":
            if case .array(let a) = value { return a.last ?? .undefined }
            return .undefined
        case "join":
            guard case .array(let a) = value else { return .string(try budget.text(value)) }
            let separator = try args.first.map(budget.text) ?? ""
            let joined = try budget.text(.array(a))  // sizes the parts before they are joined
            try budget.charge(over: joined)
            let total = a.count.multipliedReportingOverflow(by: separator.utf8.count)
            guard !total.overflow, total.partialValue + joined.utf8.count <= budget.limits.maxOutputBytes else {
                throw budget.limits.exceeded("output size", budget.limits.maxOutputBytes)
            }
            return .string(try a.map(budget.text).joined(separator: separator))
        case "default", "d":
            return value.isUndefined ? (args.first ?? .string("")) : value
        case "selectattr", "rejectattr":
            guard case .array(let items) = value, let attr = try args.first.map(budget.text) else {
                throw TokenizerError.template("\(name) needs a list and an attribute name")
            }
            try budget.charge(items.count)
            let keep = try items.filter { item in
                let member = item.member(attr)
                let passes: Bool
                if args.count >= 2 {
                    passes = try applyTest(try budget.text(args[1]), member, Array(args.dropFirst(2)))
                } else {
                    passes = member.truthy
                }
                return name == "selectattr" ? passes : !passes
            }
            return .array(keep)
        case "map":
            guard case .array(let items) = value else { return .array([]) }
            try budget.charge(items.count)
            if let attr = try kwargs.first(where: { $0.0 == "attribute" }).map({ try budget.text($0.1) }) {
                return .array(items.map { $0.member(attr) })
            }
            guard let filterName = try args.first.map(budget.text) else { return value }
            return .array(try items.map { try applyFilter(filterName, $0, Array(args.dropFirst()), []) })
        case "capitalize":
            let s = try budget.text(value)
            try budget.charge(over: s)
            return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "replace":
            guard args.count >= 2 else { throw TokenizerError.template("replace needs two arguments") }
            return .string(try budget.replacing(try budget.text(value), try budget.text(args[0]), with: try budget.text(args[1])))
        default:
            throw TokenizerError.template("filter '\(name)' is not supported")
        }
    }

    /// Jinja tests (`is defined`, `is none`, `is string`, ...).
    func applyTest(_ name: String, _ value: JinjaValue, _ args: [JinjaValue]) throws -> Bool {
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true } else { return false }
        case "string": if case .string = value { return true } else { return false }
        case "number":
            switch value {
            case .int, .double: return true
            default: return false
            }
        case "integer": if case .int = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "mapping": if case .dict = value { return true } else { return false }
        case "sequence", "iterable":
            switch value {
            case .array, .string, .dict: return true
            default: return false
            }
        case "true": if case .bool(true) = value { return true } else { return false }
        case "false": if case .bool(false) = value { return true } else { return false }
        case "equalto", "eq", "sameas", "==": return args.first.map { value.equals($0) } ?? false
        case "ne", "!=": return !(args.first.map { value.equals($0) } ?? false)
        case "even": if case .int(let n) = value { return n % 2 == 0 } else { return false }
        case "odd": if case .int(let n) = value { return n % 2 != 0 } else { return false }
        default: throw TokenizerError.template("test '\(name)' is not supported")
        }
    }
}
