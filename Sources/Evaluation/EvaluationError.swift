/// Errors from evaluation; each names what went wrong and where.
///
/// Bad input files and a bad environment are thrown as these; programmer errors are preconditions.
public enum EvaluationError: Error, Equatable, CustomStringConvertible {
    /// Arguments that cannot be evaluated (mismatched lengths, no references).
    case input(detail: String)
    /// A file could not be read or written.
    case io(path: String, detail: String)
    /// A record in a file is malformed; `line` is 1-based for JSONL, `item` is the index in a JSON list.
    case badRecord(path: String, line: Int?, item: Int?, field: String?, detail: String)
    /// The results file holds a complete line that is not a valid result (not a torn tail).
    case corruptResults(path: String, line: Int, detail: String)
    /// The sandbox could not start a run (not a failing sample: the runner itself).
    case sandbox(detail: String)
    /// The judge's endpoint failed or answered something that is not a verdict.
    case judge(item: String, detail: String)

    public var description: String {
        switch self {
        case .input(let detail):
            return detail
        case .io(let path, let detail):
            return "\(path): \(detail)"
        case .badRecord(let path, let line, let item, let field, let detail):
            var place = path
            if let line { place += ":\(line)" }
            if let item { place += " (item \(item))" }
            if let field { place += " field '\(field)'" }
            return "\(place): \(detail)"
        case .corruptResults(let path, let line, let detail):
            return "\(path):\(line): not a valid result line (\(detail)); fix or remove that line, then rerun"
        case .sandbox(let detail):
            return "sandbox: \(detail)"
        case .judge(let item, let detail):
            return "judging \(item): \(detail)"
        }
    }
}
