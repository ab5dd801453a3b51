import ArgumentParser
import Common
import Foundation
import JSON
import Tokenizers

/// `text2grad tokenize`: shows, per input line, the ids, token strings and character offsets as JSONL,
/// so a user can check which characters a span of tokens covers.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize text (one input per line) and print ids, tokens and [start, end) offsets as JSONL.",
        discussion: "Offsets are Unicode scalar (code point) indices into the line, as in Python's str."
    )

    @Option(name: .long, help: "Model directory with tokenizer.json (and tokenizer_config.json).")
    var tokenizer: String

    @Option(name: .long, help: "Text file, one input per line, or JSONL with --jsonl (default: standard input).")
    var input: String?

    @Flag(name: .long, help: "Do not add the post-processor's special tokens (BOS and the like).")
    var noSpecialTokens = false

    @Flag(name: .long, help: "Input is JSONL, one {\"text\": ...} object per line, so texts may hold newlines (the default for a .jsonl --input).")
    var jsonl = false

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: tokenizer, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--tokenizer \(tokenizer) is not a directory")
        }
        if let input, !FileManager.default.fileExists(atPath: input) {
            throw ValidationError("--input \(input) does not exist")
        }
    }

    func run() throws {
        let model = try Tokenizers.Tokenizer.load(directory: URL(fileURLWithPath: tokenizer))
        let text: String
        if let input {
            text = try InputFile.text(path: input)
        } else {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        var texts: [(text: String, id: JSONValue?)] = []
        if jsonl || (input?.hasSuffix(".jsonl") ?? false) {
            let path = input ?? "<stdin>"
            for line in JSONLines.lines(Data(text.utf8)) {
                guard case .success(let object) = JSONLines.object(line.bytes) else {
                    throw FileError.badLine(path: path, line: line.number, detail: "not a JSON object")
                }
                guard let text = object["text"]?.stringValue else {
                    throw FileError.badLine(path: path, line: line.number, detail: "\"text\" must be a string")
                }
                texts.append((text, object["id"]))
            }
        } else {
            var lines = text.components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            texts = lines.map { ($0, nil) }
        }
        for (line, id) in texts {
            let encoding = model.encode(line, addSpecialTokens: !noSpecialTokens)
            var record: JSONValue = [
                "text": JSONValue(line),
                "ids": .array(encoding.ids.map { JSONValue($0) }),
                "tokens": .array(encoding.tokens.map { JSONValue($0) }),
                "offsets": .array(encoding.offsets.map { [JSONValue($0.lowerBound), JSONValue($0.upperBound)] }),
            ]
            if let id { record["id"] = id }
            try StandardOutput.line(JSONLines.encode(record))
        }
    }
}
