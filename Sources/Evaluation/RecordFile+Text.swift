import JSON

/// The text checks every record file passes: valid UTF-8 and no lone surrogate escape (the JSON parser, repairing
/// text, turns either into U+FFFD, which names the field; a record must not be scored on text nobody wrote).
extension RecordFile {
    /// The 1-based line of the first invalid UTF-8 or lone surrogate escape in `bytes`, and what it is.
    static func firstBadText(_ bytes: [UInt8]) -> (line: Int, detail: String)? {
        var line = 1
        var start = 0
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            let slice = bytes[start..<end]
            if String(validating: slice, as: UTF8.self) == nil { return (line, "not valid UTF-8") }
            if let escape = loneSurrogate(in: slice) { return (line, "\\u\(escape) is a lone surrogate") }
            line += 1
            start = end + 1
        }
        return nil
    }

    /// The hex digits of the first `\uD800`–`\uDFFF` escape in `text` that is not a high surrogate directly followed by
    /// a low one; nil when there is none. Backslash pairs are skipped, so `\\uD800` (a backslash, then text) is fine.
    static func loneSurrogate(in text: ArraySlice<UInt8>) -> String? {
        func escape(at index: Int) -> UInt32? {
            guard index + 6 <= text.endIndex, text[index] == UInt8(ascii: "\\"), text[index + 1] == UInt8(ascii: "u")
            else { return nil }
            return UInt32(String(decoding: text[(index + 2)..<(index + 6)], as: UTF8.self), radix: 16)
        }
        var index = text.startIndex
        while index < text.endIndex {
            guard text[index] == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            guard let unit = escape(at: index) else {
                index += 2
                continue
            }
            let hex = String(decoding: text[(index + 2)..<(index + 6)], as: UTF8.self)
            if (0xDC00...0xDFFF).contains(unit) { return hex }
            if (0xD800...0xDBFF).contains(unit) {
                guard let low = escape(at: index + 6), (0xDC00...0xDFFF).contains(low) else { return hex }
                index += 12
                continue
            }
            index += 6
        }
        return nil
    }

    /// The error for bad text on `line`: the record there (by line, or the list item whose text the parser repaired)
    /// and its field whose text holds the repair (U+FFFD).
    static func badText(_ records: [SourcedRecord], line: Int, detail: String, path: String) -> EvaluationError {
        let record = records.first { $0.line == line }
            ?? records.first { $0.line == nil && field(repairedIn: $0.value) != nil }
        return .badRecord(
            path: path, line: line, item: record?.item, field: record.flatMap { field(repairedIn: $0.value) },
            detail: detail)
    }

    /// The first member of `object` whose name or text (strings, lists of strings) holds U+FFFD.
    static func field(repairedIn object: JSONValue) -> String? {
        func repaired(_ value: JSONValue) -> Bool {
            switch value {
            case .string(let text): return text.unicodeScalars.contains("\u{FFFD}")
            case .array(let items): return items.contains(where: repaired)
            case .object(let members): return members.contains { repaired(.string($0.key)) || repaired($0.value) }
            default: return false
            }
        }
        return object.objectValue?.first { repaired(.string($0.key)) || repaired($0.value) }?.key
    }
}
