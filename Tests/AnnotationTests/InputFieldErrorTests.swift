import Foundation
import Testing
@testable import Annotation

/// Input errors name the field that was wrong and the line it was on, never a neighbouring field.
@Suite struct InputFieldErrorTests {
    func error(_ jsonl: String) -> String {
        do {
            _ = try DatasetReader.parse(Data(jsonl.utf8), path: "in.jsonl", policy: .fatal)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func theWrongFieldIsNamed() {
        let ok = #"{"id": "a", "prompt": "p", "response": "r"}"#
        let prompt = error(ok + "\n" + #"{"id": "b", "prompt": 5, "response": "r"}"#)
        #expect(prompt.contains("field 'prompt' must be a string") && prompt.contains("2"), "\(prompt)")
        let response = error(#"{"id": "b", "prompt": "p", "response": true}"#)
        #expect(response.contains("field 'response'") && !response.contains("'prompt'"), "\(response)")
        // A list is read as chat turns: the error names the entry inside it.
        let listed = error(#"{"id": "b", "prompt": "p", "response": ["r"]}"#)
        #expect(listed.contains("field 'response[0]'"), "\(listed)")
        let turns = error(#"{"id": "c", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": 7}]}"#)
        #expect(turns.contains("field 'messages[1]'"), "\(turns)")
    }
}
