import JSON
import Testing

/// The strict decoder: values of the wrong JSON type are errors naming their path, never coerced.
@Suite struct JSONValueDecoderTests {
    struct Config: Decodable, Equatable {
        var name: String
        var layers: Int
        var rate: Double
        var tags: [String]
        var note: String?
    }

    func message(_ json: String) -> String? {
        do {
            _ = try JSONValueDecoder().decode(Config.self, from: Array(json.utf8))
            return nil
        } catch let error as DecodingError {
            return JSONValueDecoder.describe(error)
        } catch {
            return "\(error)"
        }
    }

    @Test func decodesAndTreatsNullAsAbsentForOptionals() throws {
        let json = #"{"name": "tiny", "layers": 2, "rate": 1e-5, "tags": ["a", "b"], "note": null}"#
        let config = try JSONValueDecoder().decode(Config.self, from: Array(json.utf8))
        #expect(config == Config(name: "tiny", layers: 2, rate: 1e-5, tags: ["a", "b"], note: nil))
    }

    @Test func wrongTypesAreNamedWithTheirPath() {
        let base = #""name": "t", "rate": 1, "tags": []"#
        #expect(message("{\(base), \"layers\": 900.5}") == "'layers': expected an integer, found the number 900.5")
        #expect(message("{\(base), \"layers\": true}") == "'layers': expected an integer, found the boolean true")
        #expect(message("{\(base), \"layers\": 1e16}") == "'layers': expected an integer, found the number 1e+16")
        #expect(message(#"{"name": "t", "layers": 1, "rate": "1e-5", "tags": []}"#)
            == #"'rate': expected a number, found the string "1e-5""#)
        #expect(message(#"{"name": "t", "layers": 1, "rate": 1, "tags": ["a", 2]}"#)
            == "'tags[1]': expected a string, found the number 2")
        #expect(message(#"{"name": "t", "rate": 1, "tags": []}"#) == "missing 'layers'")
        #expect(message(#"{"name": null, "layers": 1, "rate": 1, "tags": []}"#)
            == "'name': expected a value, found null")
    }

    @Test func integersMustFitTheirType() throws {
        #expect(try JSONValueDecoder().decode([UInt8].self, from: Array("[0, 255]".utf8)) == [0, 255])
        #expect(throws: DecodingError.self) { try JSONValueDecoder().decode([UInt8].self, from: Array("[256]".utf8)) }
        #expect(throws: DecodingError.self) { try JSONValueDecoder().decode([UInt].self, from: Array("[-1]".utf8)) }
        #expect(throws: JSONParseError.self) { try JSONValueDecoder().decode(Config.self, from: Array("{".utf8)) }
    }
}
