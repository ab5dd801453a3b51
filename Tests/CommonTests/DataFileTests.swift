import Common
import Foundation
import Testing

/// The one data file reader and the one JSONL line reader and writer, on small hand-written files.
@Suite struct DataFileTests {
    func read(_ text: String, keyed: Bool = true, dropsByteOrderMark: Bool = true) throws
        -> (form: DataFile.Form, places: [DataFile.Place], objects: Int)
    {
        let read = try DataFile.read(Data(text.utf8), keyed: keyed, dropsByteOrderMark: dropsByteOrderMark)
        let objects = read.entries.filter { if case .success = $0.object { true } else { false } }.count
        return (read.form, read.entries.map(\.place), objects)
    }

    @Test func jsonlLinesAreNumberedFromOneAndBlankLinesSkipped() throws {
        let read = try read("{\"id\": 1}\n\n  \r\n[2]\n{\"id\": 3}")
        #expect(read.form == .lines)
        #expect(read.places == [.line(1), .line(4), .line(5)])
        #expect(read.objects == 2)
    }

    @Test func listItemsAreNumberedFromZero() throws {
        let read = try read("  [{\"id\": 1}, 2, {\"id\": 3}]")
        #expect(read.form == .list)
        #expect(read.places == [.item(0), .item(1), .item(2)])
        #expect(read.objects == 2)
    }

    @Test func aKeyedObjectIsReadInKeyOrderOnlyWhenAllowed() throws {
        let text = "{\"b\": {\"x\": 1}, \"a\": {\"x\": 2}}"
        let keyed = try read(text)
        #expect(keyed.form == .keyed)
        #expect(keyed.places == [.key("a"), .key("b")])
        let lines = try read(text, keyed: false)
        #expect(lines.form == .lines)
        #expect(lines.places == [.line(1)])
    }

    @Test func aByteOrderMarkIsDroppedOnlyWhenAsked() throws {
        let text = "\u{FEFF}{\"id\": 1}\n"
        #expect(try read(text).objects == 1)
        let kept = JSONLines.lines(Data(text.utf8), dropsByteOrderMark: false)
        #expect(Array(kept[0].bytes.prefix(3)) == JSONLines.byteOrderMark)
    }

    @Test func aDocumentThatIsNotJSONThrows() {
        #expect(throws: DataFile.DocumentProblem.self) { try read("[1, ") }
        #expect(throws: DataFile.DocumentProblem.self) { try read("{\n\"a\": ") }
    }

    @Test func writtenLinesReadBackAndATornTailIsNotAline() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("datafile-\(UUID()).jsonl").path
        defer { unlink(path) }
        let writer = try JSONLWriter(appendingTo: path)
        try writer.write(["id": "a"])
        try writer.append(Data("{\"id\": \"b\"}\n{\"id\": ".utf8))
        writer.close()
        let data = try InputFile.read(path: path)
        #expect(JSONLines.completeLength(data) == data.count - 7)
        let lines = JSONLines.lines(data.prefix(JSONLines.completeLength(data)))
        #expect(lines.map(\.number) == [1, 2])
        let scan = try JSONLScan.read(path: path, repair: true)
        #expect(scan.ids == ["a", "b"])
        #expect(scan.truncatedBytes == 7)
        #expect(try InputFile.read(path: path).count == data.count - 7)
    }
}
