/// Cuts streamed text at the first stop string, holding back any tail that could still grow into one, so
/// text handed out is never taken back.
///
/// Everything emitted is final: a stop string cannot start inside emitted text, because any suffix of the
/// text that is a prefix of a stop string stays pending until it either completes or stops matching.
public struct StopStringMatcher: Sendable {
    public let stops: [String]
    private var pending = ""
    /// True once a stop string was seen.
    public private(set) var stopped = false

    public init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Adds decoded text; returns the text that is now safe to emit.
    public mutating func append(_ text: String) -> String {
        guard !stopped else { return "" }
        guard !stops.isEmpty else { return text }
        pending += text
        var cut: String.Index?
        for stop in stops {
            if let range = pending.range(of: stop), cut.map({ range.lowerBound < $0 }) ?? true { cut = range.lowerBound }
        }
        if let cut {
            stopped = true
            let out = String(pending[..<cut])
            pending = ""
            return out
        }
        // Hold back the longest suffix that is a proper prefix of a stop string.
        var hold = 0
        let characters = Array(pending)
        for stop in stops {
            let stopCharacters = Array(stop)
            for k in stride(from: min(stopCharacters.count - 1, characters.count), to: hold, by: -1)
            where Array(characters.suffix(k)) == Array(stopCharacters.prefix(k)) {
                hold = k
                break
            }
        }
        let out = String(characters.dropLast(hold))
        pending = String(characters.suffix(hold))
        return out
    }

    /// The held-back text, once no more text will come.
    public mutating func finish() -> String {
        defer { pending = "" }
        return stopped ? "" : pending
    }
}
