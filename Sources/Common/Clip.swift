extension String {
    /// The text, or its head and tail around a note of how many characters were left out when it is longer
    /// than `limit` (test output and raw answers stay readable and bounded).
    public func clippedMiddle(_ limit: Int) -> String {
        guard count > limit else { return self }
        let half = limit / 2
        return String(prefix(half)) + "\n… [\(count - limit) characters omitted] …\n" + String(suffix(half))
    }
}
