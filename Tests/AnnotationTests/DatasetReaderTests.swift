import Foundation
import Testing

@testable import Annotation
@testable import Common
@testable import LLMClient
@testable import CodeSandbox
@testable import Tasks

@Suite("Input reading")
struct DatasetReaderTests {
    func parse(_ text: String, policy: BadLinePolicy = .skip) throws -> Dataset {
        try DatasetReader.parse(Data(text.utf8), path: "in.jsonl", policy: policy)
    }

    @Test func jsonlNativeFieldsAndBlankLines() throws {
        let text = """
            {"id": "a", "prompt": "P", "response": "R", "reference": "Ref"}

            {"id": 7, "prompt": "P2", "response": "R2", "tests": "def test_x(): pass"}
            """
        let dataset = try parse(text)
        #expect(dataset.items.map(\.id) == ["a", "7"])
        #expect(dataset.items[0].reference == "Ref")
        #expect(dataset.items[1].tests == "def test_x(): pass")
        #expect(dataset.rejected.isEmpty)
    }

    @Test func badLineIsFatalWithItsLineNumber() {
        let text = "{\"id\": \"a\", \"prompt\": \"P\", \"response\": \"R\"}\n{\"id\": \"b\", \"prompt\": \n"
        #expect(throws: AnnotationError.self) { try parse(text, policy: .fatal) }
        do {
            _ = try parse(text, policy: .fatal)
        } catch let error as AnnotationError {
            guard case let .badInput(path, line, _, detail) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == "in.jsonl")
            #expect(line == 2)
            #expect(detail.contains("invalid JSON"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func badLinesAreSkippedButReportedNeverDropped() throws {
        let text = """
            {"id": "a", "prompt": "P", "response": "R"}
            not json
            {"id": "b", "prompt": "P"}
            ["a list"]
            {"id": "a", "prompt": "P", "response": "again"}
            {"id": "c", "prompt": "P", "response": "R"}
            """
        let dataset = try parse(text)
        #expect(dataset.items.map(\.id) == ["a", "c"])
        #expect(dataset.rejected.map(\.line) == [2, 3, 4, 5])
        #expect(dataset.rejected[1].error.description.contains("missing a response"))
        #expect(dataset.rejected[3].error.description.contains("duplicate id 'a'"))
    }

    @Test func slf5kDictKeyedByIdPrettyPrinted() throws {
        let text = """
            {
              "t3_b": {"post": "Post B", "generated_summary": "Sum B", "ideal_human_summary": "Ideal B"},
              "t3_a": {"post": "Post A", "generated_summary": "Sum A", "ideal_human_summary": "Ideal A"}
            }
            """
        let dataset = try parse(text)
        #expect(dataset.items.map(\.id) == ["t3_a", "t3_b"])
        #expect(dataset.items[0].prompt == "Post A")
        #expect(dataset.items[0].response == "Sum A")
        #expect(dataset.items[0].reference == "Ideal A")
        #expect(dataset.items[0].fields["ideal_human_summary"] == "Ideal A")
    }

    @Test func compactOneLineDictIsNotMistakenForJSONL() throws {
        let text = #"{"x1": {"post": "P", "generated_summary": "S"}, "x2": {"post": "P", "generated_summary": "T"}}"#
        #expect(try parse(text).items.map(\.id) == ["x1", "x2"])
    }

    @Test func kodcodeListWithPositionIds() throws {
        let text = """
            [{"question": "Add", "solution": "def add(a, b):\\n    return a + b", "test": "def test_add(): pass"},
             {"question_id": "q2", "question": "Sub", "solution": "x", "test": "t"}]
            """
        let dataset = try parse(text)
        #expect(dataset.items.map(\.id) == ["1", "q2"])
        #expect(dataset.items[0].prompt == "Add")
        #expect(dataset.items[0].response == "def add(a, b):\n    return a + b")
        #expect(dataset.items[0].tests == "def test_add(): pass")
    }

    @Test func ultrafeedbackChatMessagesAndResponseAsMessages() throws {
        func turn(_ role: String, _ content: String) -> String { #"{"role": "\#(role)", "content": "\#(content)"}"# }
        let text = """
            {"id": "u1", "messages": [\(turn("user", "Hi?")), \(turn("assistant", "Hello."))]}
            {"id": "u2", "prompt": "Q", "response": [\(turn("user", "Q")), \(turn("assistant", "A"))]}
            {"id": "u3", "messages": [\(turn("system", "S")), \(turn("user", "U")), \(turn("assistant", "A1"))]}
            {"id": "u4", "messages": "not a list"}
            """
        let dataset = try parse(text)
        #expect(dataset.items.map(\.id) == ["u1", "u2", "u3"])
        #expect(dataset.items[0].prompt == "Hi?")
        #expect(dataset.items[0].response == "Hello.")
        #expect(dataset.items[1].response == "A")
        #expect(dataset.items[2].prompt == "system: S\n\nuser: U")
        #expect(dataset.rejected.first?.line == 4)
    }

    @Test func emptyFileAndNonObjectTopLevelAreErrors() {
        #expect(throws: AnnotationError.self) { try parse("\n\n") }
        #expect(throws: AnnotationError.self) { try parse("[1, 2]", policy: .fatal) }
        #expect(throws: AnnotationError.self) { try parse("42") }
    }
}
