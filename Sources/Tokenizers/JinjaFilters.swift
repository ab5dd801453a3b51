import Foundation

extension JinjaInterpreter {
    /// The filters the supported templates use; any other is a clear error.
    func applyFilter(
        _ name: String, _ value: JinjaValue, _ args: [JinjaValue],
        _ kwargs: [(String, JinjaValue)]
    ) throws -> JinjaValue {
        switch name {
        case "trim":
            return .string(value.rendered.trimmingCharacters(in: .whitespacesAndNewlines))
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
            return .string(value.json(indent: indent))
        case "string": return .string(value.rendered)
        case "lower": return .string(value.rendered.lowercased())
        case "upper": return .string(value.rendered.uppercased())
        case "list":
            switch value {
            case .array: return value
            case .dict(let d): return .array(d.map { .string($0.0) })
            case .string(let s): return .array(s.map { .string(String($0)) })
            default: return .array([])
            }
        case "first":
            if case .array(let a) = value { return a.first ?? .undefined }
            return .undefined
        case "last":
            if case .array(let a) = value { return a.last ?? .undefined }
            return .undefined
        case "join":
            guard case .array(let a) = value else { return .string(value.rendered) }
            return .string(a.map(\.rendered).joined(separator: args.first?.rendered ?? ""))
        case "default", "d":
            return value.isUndefined ? (args.first ?? .string("")) : value
        case "selectattr", "rejectattr":
            guard case .array(let items) = value, let attr = args.first?.rendered else {
                throw TokenizerError.template("\(name) needs a list and an attribute name")
            }
            let keep = try items.filter { item in
                let member = item.member(attr)
                let passes: Bool
                if args.count >= 2 {
                    passes = try applyTest(args[1].rendered, member, Array(args.dropFirst(2)))
                } else {
                    passes = member.truthy
                }
                return name == "selectattr" ? passes : !passes
            }
            return .array(keep)
        case "map":
            guard case .array(let items) = value else { return .array([]) }
            if let attr = kwargs.first(where: { $0.0 == "attribute" })?.1.rendered {
                return .array(items.map { $0.member(attr) })
            }
            guard let filterName = args.first?.rendered else { return value }
            return .array(try items.map { try applyFilter(filterName, $0, Array(args.dropFirst()), []) })
        case "capitalize":
            let s = value.rendered
            return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "replace":
            guard args.count >= 2 else { throw TokenizerError.template("replace needs two arguments") }
            return .string(value.rendered.replacingOccurrences(of: args[0].rendered, with: args[1].rendered))
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
