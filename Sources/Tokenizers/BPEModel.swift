import Foundation

/// GPT-2's reversible map between bytes and printable characters (`Ġ` is the space byte).
enum ByteLevelAlphabet {
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(256 + n)!
                n += 1
            }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The raw bytes a byte-level token string stands for, or nil if a character is outside the alphabet.
    static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return nil }
            out.append(b)
        }
        return out
    }

    static func string(of bytes: [UInt8]) -> String {
        var view = String.UnicodeScalarView()
        for b in bytes { view.append(byteToScalar[Int(b)]) }
        return String(view)
    }
}

/// Open-addressing hash map from a pair of token ids to (merge rank, merged id).
struct MergeTable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: MergeTable.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) private static func hash(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 17)
    }

    /// Inserts unless present (the first merge listed for a pair wins, as in `tokenizers`).
    mutating func insert(left: Int32, right: Int32, rank: Int32, merged: Int32) {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var i = MergeTable.hash(key) & mask
        while keys[i] != MergeTable.empty {
            if keys[i] == key { return }
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    /// (rank, merged id) for the pair, or nil.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, merged: Int32)? {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var i = MergeTable.hash(key) & mask
        while true {
            let k = keys[i]
            if k == key {
                let v = values[i]
                return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v & 0xFFFF_FFFF))
            }
            if k == MergeTable.empty { return nil }
            i = (i + 1) & mask
        }
    }
}

/// A BPE model (`"type": "BPE"`): vocabulary, ranked merges, byte fallback and unknown-token handling.
// Unchecked Sendable: set up while its tokenizer loads; after that only `cache` changes, under `cacheLock`.
final class BPEModel: @unchecked Sendable {
    /// Vocabulary keyed by the token's UTF-8 bytes (never by `String`, whose equality is canonical
    /// equivalence and would merge `é` with `e` + U+0301).
    let vocab: [[UInt8]: Int]
    private(set) var idToToken: [String?]
    let merges: MergeTable
    let unkId: Int32?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// Vocabulary keyed by the bytes a token stands for (byte-level) or its UTF-8 (otherwise).
    private var vocabByBytes: [[UInt8]: Int32] = [:]
    private var byteIds = [Int32](repeating: -1, count: 256)
    private var fallbackIds = [Int32](repeating: -1, count: 256)
    private var scalarIds: [UInt32: Int32] = [:]
    private var cache: [[UInt8]: [Int32]] = [:]
    private let cacheLock = NSLock()
    private let cacheLimit = 100_000
    var byteLevel = false

    init(node: JSONNode) throws {
        var vocab: [[UInt8]: Int] = [:]
        var entries: [(String, Int)] = []
        for (token, value) in try node["vocab"].members() {
            let id = try value.int()
            guard id >= 0, id < 50_000_000 else { throw value.malformed("expected a non-negative integer id") }
            vocab[Array(token.utf8)] = id
            entries.append((token, id))
        }
        self.vocab = vocab
        var idToToken = [String?](repeating: nil, count: (vocab.values.max() ?? -1) + 1)
        for (token, id) in entries { idToToken[id] = token }
        self.idToToken = idToToken
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] where !node[key].isNull {
            if try node[key].string() != "" { throw node[key].unsupported() }
        }
        if case .number(let dropout)? = node["dropout"].value, dropout > 0 {
            throw node["dropout"].unsupported()
        }
        fuseUnk = try node["fuse_unk"].bool(default: false)
        byteFallback = try node["byte_fallback"].bool(default: false)
        ignoreMerges = try node["ignore_merges"].bool(default: false)
        if let unk = try node["unk_token"].optionalString() {
            guard let id = vocab[Array(unk.utf8)] else {
                throw node["unk_token"].malformed("\"\(unk)\" is not in the vocabulary")
            }
            unkId = Int32(id)
        } else {
            unkId = nil
        }
        let mergeNodes = try node["merges"].array()
        var table = MergeTable(capacity: mergeNodes.count)
        for (rank, m) in mergeNodes.enumerated() {
            let pair: [[UInt8]]
            if case .string(let s)? = m.value {
                let bytes = Array(s.utf8)
                guard let space = bytes.firstIndex(of: 0x20) else { throw m.malformed("expected \"left right\"") }
                pair = [Array(bytes[..<space]), Array(bytes[(space + 1)...])]
            } else if case .array(let items)? = m.value, items.count == 2,
                case .string(let a) = items[0], case .string(let b) = items[1]
            {
                pair = [Array(a.utf8), Array(b.utf8)]
            } else {
                throw m.malformed("expected \"left right\" or [\"left\", \"right\"]")
            }
            guard let left = vocab[pair[0]], let right = vocab[pair[1]] else {
                throw m.malformed("merge uses a token that is not in the vocabulary")
            }
            guard let merged = vocab[pair[0] + pair[1]] else {
                throw m.malformed(
                    "merged token \"\(String(decoding: pair[0] + pair[1], as: UTF8.self))\" is not in the vocabulary")
            }
            table.insert(left: Int32(left), right: Int32(right), rank: Int32(rank), merged: Int32(merged))
        }
        merges = table
        for b in 0..<256 {
            if let id = vocab[Array(String(format: "<0x%02X>", b).utf8)] { fallbackIds[b] = Int32(id) }
        }
    }

    /// Switches to byte-level input (a ByteLevel pre-tokenizer is present): symbols start as bytes.
    func prepare(byteLevel: Bool) {
        self.byteLevel = byteLevel
        vocabByBytes.reserveCapacity(vocab.count)
        for (id, token) in idToToken.enumerated() {
            guard let token else { continue }
            if byteLevel {
                if let bytes = ByteLevelAlphabet.bytes(of: token) { vocabByBytes[bytes] = Int32(id) }
            } else {
                vocabByBytes[Array(token.utf8)] = Int32(id)
                let scalars = token.unicodeScalars
                if scalars.count == 1 { scalarIds[scalars.first!.value] = Int32(id) }
            }
        }
        if byteLevel {
            for b in 0..<256 {
                if let id = vocab[Array(String(ByteLevelAlphabet.byteToScalar[b]).utf8)] { byteIds[b] = Int32(id) }
            }
        }
    }

    func token(for id: Int) -> String? { id >= 0 && id < idToToken.count ? idToToken[id] : nil }

    /// Tokens of one pre-tokenized piece: (id, start, end) triples flattened, in bytes of the piece's UTF-8
    /// (byte-level) or in scalars of the piece (otherwise).
    func tokenize(_ scalars: ArraySlice<Unicode.Scalar>, utf8 bytes: [UInt8]) -> [Int32] {
        let cacheable = bytes.count <= 256
        if cacheable {
            cacheLock.lock()
            let hit = cache[bytes]
            cacheLock.unlock()
            if let hit { return hit }
        }
        var result: [Int32]
        if ignoreMerges, let id = vocabByBytes[bytes] {
            result = [id, 0, Int32(byteLevel ? bytes.count : scalars.count)]
        } else {
            var (word, dropped) = byteLevel ? initialByteSymbols(bytes) : initialScalarSymbols(scalars)
            if dropped {
                let lengths: [Int32] = byteLevel
                    ? bytes.map { ByteLevelAlphabet.byteToScalar[Int($0)].value < 0x80 ? 1 : 2 }
                    : scalars.map { Int32(String($0).utf8.count) }
                word.countPastDropped(unitLengths: lengths)
                word.merge(merges)
                word.mapBack(unitLengths: lengths)
            } else {
                word.merge(merges)
            }
            result = word.flattened()
        }
        if cacheable {
            cacheLock.lock()
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[bytes] = result
            cacheLock.unlock()
        }
        return result
    }

    /// The word's first symbols, and whether a byte was dropped (no token for it and no unknown token).
    private func initialByteSymbols(_ bytes: [UInt8]) -> (Word, dropped: Bool) {
        var word = Word(capacity: bytes.count)
        var dropped = false
        for (i, b) in bytes.enumerated() {
            let id = byteIds[Int(b)]
            if id >= 0 {
                word.append(id, Int32(i), Int32(i + 1))
            } else if let unk = unkId {
                if fuseUnk, word.lastIs(unk) {
                    word.extendLast(to: Int32(i + 1))
                } else {
                    word.append(unk, Int32(i), Int32(i + 1))
                }
            } else {
                dropped = true
            }
        }
        return (word, dropped)
    }

    /// SentencePiece-style symbols: one per scalar; unknown scalars become `<0xNN>` bytes or `unk`
    /// (with `tokenizers`' order: a pending unknown is only written before the next known scalar).
    private func initialScalarSymbols(_ scalars: ArraySlice<Unicode.Scalar>) -> (Word, dropped: Bool) {
        var word = Word(capacity: scalars.count)
        var dropped = false
        var pendingUnk: (start: Int32, end: Int32)?
        for (k, s) in scalars.enumerated() {
            let i = Int32(k)
            if let id = scalarIds[s.value] {
                if let p = pendingUnk, let unk = unkId {
                    word.append(unk, p.start, p.end)
                    pendingUnk = nil
                }
                word.append(id, i, i + 1)
                continue
            }
            if byteFallback {
                let utf8 = Array(String(Character(s)).utf8)
                if utf8.allSatisfy({ fallbackIds[Int($0)] >= 0 }) {
                    for b in utf8 { word.append(fallbackIds[Int(b)], i, i + 1) }
                    continue
                }
            }
            guard let unk = unkId else {
                dropped = true
                continue
            }
            if let p = pendingUnk {
                if fuseUnk {
                    pendingUnk = (p.start, i + 1)
                } else {
                    word.append(unk, p.start, p.end)
                    pendingUnk = (i, i + 1)
                }
            } else {
                pendingUnk = (i, i + 1)
            }
        }
        if let p = pendingUnk, let unk = unkId { word.append(unk, p.start, p.end) }
        return (word, dropped)
    }
}

/// The symbols of one word during BPE merging.
struct Word {
    var ids: [Int32] = []
    var starts: [Int32] = []
    var ends: [Int32] = []

    init(capacity: Int) {
        ids.reserveCapacity(capacity)
        starts.reserveCapacity(capacity)
        ends.reserveCapacity(capacity)
    }

    mutating func append(_ id: Int32, _ start: Int32, _ end: Int32) {
        ids.append(id)
        starts.append(start)
        ends.append(end)
    }

    func lastIs(_ id: Int32) -> Bool { ids.last == id }

    /// `tokenizers` counts a word's token offsets from the lengths of the symbols it kept, in bytes of the
    /// normalized word: after a unit it dropped (no token for it, no unknown token), every later offset in the word
    /// is short by that unit's length, and only then mapped back to the text. Matching it matters because its
    /// offsets are the ones users align spans with. Before merging, this replaces each symbol's unit range by that
    /// count (`unitLengths`: each unit's length in bytes of the normalized word; a unit split into byte-fallback
    /// symbols gives each one byte); `mapBack` turns the counts back into units after merging.
    mutating func countPastDropped(unitLengths: [Int32]) {
        var position: Int32 = 0
        var k = 0
        while k < ids.count {
            var n = 1
            while k + n < ids.count && starts[k + n] == starts[k] { n += 1 }
            let each = unitLengths[Int(starts[k])] / Int32(n)
            for j in k..<(k + n) {
                starts[j] = position
                position += each
                ends[j] = position
            }
            k += n
        }
    }

    /// Byte counts (from `countPastDropped`) back to units: a count inside a unit means that unit.
    mutating func mapBack(unitLengths: [Int32]) {
        var unitStarts = [Int32](repeating: 0, count: unitLengths.count + 1)
        for (i, length) in unitLengths.enumerated() { unitStarts[i + 1] = unitStarts[i] + length }
        /// The unit holding byte `position` (counts never pass the word's length: only kept bytes are counted).
        func unit(holding position: Int32) -> Int32 {
            var low = 0, high = unitLengths.count - 1
            while low < high {
                let mid = (low + high + 1) / 2
                if unitStarts[mid] <= position { low = mid } else { high = mid - 1 }
            }
            return Int32(low)
        }
        for k in 0..<ids.count {
            starts[k] = unit(holding: starts[k])
            ends[k] = unit(holding: ends[k] - 1) + 1
        }
    }
    mutating func extendLast(to end: Int32) { ends[ends.count - 1] = end }

    func flattened() -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(ids.count * 3)
        for i in 0..<ids.count {
            out.append(ids[i])
            out.append(starts[i])
            out.append(ends[i])
        }
        return out
    }

    /// Applies merges lowest rank first, leftmost first among equal ranks (as `tokenizers`' heap does).
    mutating func merge(_ table: MergeTable) {
        if ids.count < 2 { return }
        if ids.count > 48 { return mergeWithHeap(table) }
        while ids.count > 1 {
            var bestRank = Int32.max
            var bestPos = -1
            var bestId: Int32 = 0
            for i in 0..<ids.count - 1 {
                if let m = table.lookup(ids[i], ids[i + 1]), m.rank < bestRank {
                    bestRank = m.rank
                    bestPos = i
                    bestId = m.merged
                }
            }
            if bestPos < 0 { return }
            ids[bestPos] = bestId
            ends[bestPos] = ends[bestPos + 1]
            ids.remove(at: bestPos + 1)
            starts.remove(at: bestPos + 1)
            ends.remove(at: bestPos + 1)
        }
    }

    /// The same policy for long words, with a linked list of symbols and a binary heap of candidate merges.
    private mutating func mergeWithHeap(_ table: MergeTable) {
        let n = ids.count
        var next = (0..<n).map { $0 + 1 }
        var prev = (0..<n).map { $0 - 1 }
        next[n - 1] = -1
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        for i in 0..<n - 1 {
            if let m = table.lookup(ids[i], ids[i + 1]) { heap.push(rank: m.rank, pos: Int32(i)) }
        }
        while let (rank, p) = heap.pop() {
            let pos = Int(p)
            guard alive[pos], next[pos] >= 0 else { continue }
            let right = next[pos]
            guard let m = table.lookup(ids[pos], ids[right]), m.rank == rank else { continue }
            ids[pos] = m.merged
            ends[pos] = ends[right]
            alive[right] = false
            next[pos] = next[right]
            if next[pos] >= 0 { prev[next[pos]] = pos }
            if prev[pos] >= 0, let l = table.lookup(ids[prev[pos]], ids[pos]) {
                heap.push(rank: l.rank, pos: Int32(prev[pos]))
            }
            if next[pos] >= 0, let r = table.lookup(ids[pos], ids[next[pos]]) {
                heap.push(rank: r.rank, pos: Int32(pos))
            }
        }
        var newIds: [Int32] = []
        var newStarts: [Int32] = []
        var newEnds: [Int32] = []
        var i = 0
        while i >= 0, i < n {
            newIds.append(ids[i])
            newStarts.append(starts[i])
            newEnds.append(ends[i])
            i = next[i]
        }
        ids = newIds
        starts = newStarts
        ends = newEnds
    }
}

/// Binary min-heap of (rank, position) keys.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(rank: Int32, pos: Int32) {
        items.append(UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: pos)))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> (Int32, Int32)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < items.count, items[l] < items[m] { m = l }
                if r < items.count, items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return (Int32(truncatingIfNeeded: top >> 32), Int32(truncatingIfNeeded: top & 0xFFFF_FFFF))
    }
}
