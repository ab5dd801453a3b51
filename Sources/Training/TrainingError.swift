/// Why a training run stopped or could not start, naming the file, line, step or field.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case badData(path: String, line: Int, reason: String)
    case emptyData(path: String, reason: String)
    case badConfig(path: String, reason: String)
    /// A NaN or infinite loss or gradient; the run stops before the update and the last checkpoint stays intact.
    case nonFinite(step: Int, quantity: String, value: Double)
    case badCheckpoint(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    /// Data-parallel replicas that do not hold the same thing (`what`), found before the first step.
    case replicasDisagree(what: String, reason: String)

    public var description: String {
        switch self {
        case let .badData(path, line, reason):
            return "\(path):\(line): \(reason)"
        case let .emptyData(path, reason):
            return "\(path): \(reason)"
        case let .badConfig(path, reason):
            return "\(path): \(reason)"
        case let .nonFinite(step, quantity, value):
            return "step \(step): the \(quantity) is \(value); stopped before the update (the last checkpoint is intact). "
                + "Try a lower learning rate or --max-grad-norm."
        case let .badCheckpoint(path, reason):
            return "\(path): \(reason)"
        case let .cannotWrite(path, reason):
            return "cannot write \(path): \(reason)"
        case let .replicasDisagree(what, reason):
            return "the ranks differ in their \(what): \(reason)"
        }
    }
}
