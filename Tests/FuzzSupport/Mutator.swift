import Foundation

/// Seeded mutations of a valid input file, for the readers' fuzz tests: each call returns a variant of the file and
/// what was done to it, so a failing case can be named and replayed from its seed.
///
/// The kinds, chosen uniformly:
/// 1. bytes: a flipped byte, a byte that is never valid UTF-8, a lone surrogate escape, a BOM, a NUL;
/// 2. lines: truncated anywhere, a line duplicated, dropped or emptied, lines swapped, the file emptied;
/// 3. values (on a line that is JSON): a member of another type, removed, a huge or odd number, a deep nesting.
public struct Mutator {
    private var state: UInt64

    /// A mutator whose sequence depends on `seed` only.
    public init(seed: UInt64) { state = seed }

    /// SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (`bound` > 0).
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// One mutation of `file`, and a short description of it.
    public mutating func mutate(_ file: Data) -> (data: Data, change: String) {
        switch below(3) {
        case 0: return mutateBytes(file)
        case 1: return mutateLines(file)
        default: return mutateValue(file) ?? mutateBytes(file)
        }
    }

    mutating func mutateBytes(_ file: Data) -> (data: Data, change: String) {
        var bytes = [UInt8](file)
        let at = bytes.isEmpty ? 0 : below(bytes.count)
        switch below(5) {
        case 0 where !bytes.isEmpty:
            let value = UInt8(truncatingIfNeeded: next())
            bytes[at] = value
            return (Data(bytes), "byte \(at) set to \(value)")
        case 1:
            let invalid: [[UInt8]] = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80]]
            let sequence = invalid[below(invalid.count)]
            bytes.insert(contentsOf: sequence, at: at)
            return (Data(bytes), "invalid UTF-8 \(sequence) at \(at)")
        case 2:
            let escapes = ["\\uD800", "\\uDFFF", "\\uDBFFx", "\\u0000", "\\uZZZZ"]
            let escape = escapes[below(escapes.count)]
            bytes.insert(contentsOf: Array(escape.utf8), at: at)
            return (Data(bytes), "escape \(escape) at \(at)")
        case 3:
            return (Data([0xEF, 0xBB, 0xBF] + bytes), "BOM")
        default:
            bytes.insert(0, at: at)
            return (Data(bytes), "NUL at \(at)")
        }
    }

    mutating func mutateLines(_ file: Data) -> (data: Data, change: String) {
        var lines = String(decoding: file, as: UTF8.self).components(separatedBy: "\n")
        let at = below(lines.count)
        switch below(6) {
        case 0:
            let cut = file.isEmpty ? 0 : below(file.count)
            return (file.prefix(cut), "truncated at \(cut)")
        case 1:
            lines.insert(lines[at], at: at)
            return (Data(lines.joined(separator: "\n").utf8), "line \(at + 1) duplicated")
        case 2:
            lines.remove(at: at)
            return (Data(lines.joined(separator: "\n").utf8), "line \(at + 1) dropped")
        case 3:
            lines[at] = ["", "   ", "\t\r", "{}", "[]", "null", "\"text\"", "{\"a\":"][below(8)]
            return (Data(lines.joined(separator: "\n").utf8), "line \(at + 1) replaced by '\(lines[at])'")
        case 4:
            let other = below(lines.count)
            lines.swapAt(at, other)
            return (Data(lines.joined(separator: "\n").utf8), "lines \(at + 1) and \(other + 1) swapped")
        default:
            return (Data(), "emptied")
        }
    }

    /// A changed member of a JSON object line, re-encoded; nil when the file has no such line.
    mutating func mutateValue(_ file: Data) -> (data: Data, change: String)? {
        var lines = String(decoding: file, as: UTF8.self).components(separatedBy: "\n")
        let candidates = lines.indices.filter {
            (try? JSONSerialization.jsonObject(with: Data(lines[$0].utf8))) is [String: Any]
        }
        guard !candidates.isEmpty else { return nil }
        let index = candidates[below(candidates.count)]
        guard let object = (try? JSONSerialization.jsonObject(with: Data(lines[index].utf8))) as? [String: Any] else {
            return nil
        }
        var paths: [[Any]] = []
        collectPaths(object, prefix: [], into: &paths)
        guard !paths.isEmpty else { return nil }
        let path = paths[below(paths.count)]
        let (replacement, name) = randomValue()
        let changed = replacing(object, at: path[...], with: replacement)
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .fragmentsAllowed]
        guard var text = (try? JSONSerialization.data(withJSONObject: changed, options: options))
            .map({ String(decoding: $0, as: UTF8.self) })
        else { return nil }
        if let raw = replacement as? RawJSON {
            text = text.replacingOccurrences(of: "\"\(RawJSON.marker)\"", with: raw.text)
        }
        lines[index] = text
        let where_ = path.map { "\($0)" }.joined(separator: ".")
        return (Data(lines.joined(separator: "\n").utf8), "line \(index + 1) \(where_) → \(name)")
    }

    /// Text spliced in verbatim where `JSONSerialization` cannot write it (huge numbers, deep nesting).
    struct RawJSON {
        static let marker = "\u{1}raw\u{1}"
        var text: String
    }

    mutating func randomValue() -> (Any, String) {
        switch below(14) {
        case 0: return (NSNull(), "null")
        case 1: return (true, "true")
        case 2: return (Int(truncatingIfNeeded: next() % 2_000_001) - 1_000_000, "an integer")
        case 3: return ("", "an empty string")
        case 4: return ("🙂 x\u{0}y", "a string")
        case 5: return ([] as [Any], "an empty list")
        case 6: return ([1, "a", NSNull()] as [Any], "a mixed list")
        case 7: return ([String: Any](), "an empty object")
        case 8: return (RawJSON(text: "1e400"), "1e400")
        case 9: return (RawJSON(text: "123456789012345678901234567890"), "a 30-digit integer")
        case 10: return (RawJSON(text: "-0.5"), "-0.5")
        case 11:
            let depth = [64, 600, 20_000][below(3)]
            return (RawJSON(text: String(repeating: "[", count: depth) + String(repeating: "]", count: depth)),
                    "\(depth) nested lists")
        case 12: return (RawJSON(text: "9007199254740993"), "2^53 + 1")
        default: return (Removed(), "removed")
        }
    }

    /// Deletes the member instead of replacing it.
    struct Removed {}

    func collectPaths(_ value: Any, prefix: [Any], into paths: inout [[Any]]) {
        if let object = value as? [String: Any] {
            for key in object.keys.sorted() {
                paths.append(prefix + [key])
                collectPaths(object[key]!, prefix: prefix + [key], into: &paths)
            }
        } else if let list = value as? [Any] {
            for index in list.indices.prefix(8) {
                paths.append(prefix + [index])
                collectPaths(list[index], prefix: prefix + [index], into: &paths)
            }
        }
    }

    func replacing(_ value: Any, at path: ArraySlice<Any>, with replacement: Any) -> Any {
        guard let step = path.first else {
            return replacement is RawJSON ? RawJSON.marker : replacement
        }
        if var object = value as? [String: Any], let key = step as? String {
            if path.count == 1 && replacement is Removed {
                object[key] = nil
            } else {
                object[key] = replacing(object[key]!, at: path.dropFirst(), with: replacement)
            }
            return object
        }
        if var list = value as? [Any], let index = step as? Int {
            if path.count == 1 && replacement is Removed {
                list.remove(at: index)
            } else {
                list[index] = replacing(list[index], at: path.dropFirst(), with: replacement)
            }
            return list
        }
        return value
    }
}

/// Runs `cases` mutations of `file` through `body`, which returns normally for a correct result and throws for a
/// refused file; `isTyped` says whether a thrown error is one the reader documents. Returns the counts, and records
/// an issue through `report` for every untyped error, naming the seed and the change.
public func fuzz(
    _ file: Data, seed: UInt64, cases: Int, write: (Data) throws -> Void, read: () throws -> Void,
    isTyped: (Error) -> Bool, report: (String) -> Void
) -> (accepted: Int, refused: Int) {
    var mutator = Mutator(seed: seed)
    var accepted = 0, refused = 0
    for number in 0..<cases {
        let (data, change) = mutator.mutate(file)
        do {
            try write(data)
            try read()
            accepted += 1
        } catch where isTyped(error) {
            refused += 1
        } catch {
            report("seed \(seed) case \(number) (\(change)): untyped error \(type(of: error)): \(error)")
        }
    }
    return (accepted, refused)
}
