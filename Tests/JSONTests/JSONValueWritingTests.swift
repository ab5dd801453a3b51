import JSON
import Testing

/// Writing JSON: compact text in member order that the strict parser reads back as the same value.
@Suite struct JSONValueWritingTests {
    @Test func literalsKeepTheirOrderAndWriteCompactly() {
        let value: JSONValue = ["z": 1, "a": [true, false, .null], "m": ["s": "x/y"], "f": 0.5]
        #expect(value.serialized() == #"{"z":1,"a":[true,false,null],"m":{"s":"x/y"},"f":0.5}"#)
        #expect(JSONValue(Optional<String>.none) == .null && JSONValue("a" as String?) == .string("a"))
    }

    @Test func numbersAreIntegersWhenIntegralAndShortestOtherwise() {
        #expect(JSONValue(1_700_000_000).serialized() == "1700000000")
        #expect(JSONValue(-3.0).serialized() == "-3")
        #expect(JSONValue(-0.0).serialized() == "0")
        #expect(JSONValue(0.1).serialized() == "0.1")
        #expect(JSONValue(1e-5).serialized() == "1e-05")
        #expect(JSONValue(1e20).serialized() == "1e+20")
        #expect(JSONValue(Double(Float(-0.1))).serialized() == "\(Double(Float(-0.1)))")
        // Only a builder can make these; null keeps the text parseable.
        #expect(JSONValue(Double.infinity).serialized() == "null" && JSONValue(Double.nan).serialized() == "null")
    }

    @Test func writtenTextParsesBackToTheSameValue() throws {
        let texts = [
            #"{"a": [1, -2.5, 1e300, 5e-324, 9007199254740991], "b": {"": null, "é": "\u0000\n\t\"\\ ✓ 😀"}}"#,
            #"[[], {}, "", [[["deep"]]], false]"#, "\"e\u{301}\"", "-0.000123",
        ]
        for text in texts {
            let value = try JSONValue.parse(text)
            let written = value.serialized()
            #expect(try JSONValue.parse(written) == value, "\(text) → \(written)")
        }
    }

    @Test func prettyTextIsLaidOutAsFoundationLaysItOut() {
        let value: JSONValue = ["b": [1, ["x": .null]], "a": [:], "c": []]
        #expect(value.serialized(keyOrder: nil, pretty: true) == """
            {
              "b" : [
                1,
                {
                  "x" : null
                }
              ],
              "a" : {

              },
              "c" : [

              ]
            }
            """)
        #expect(value.serialized(keyOrder: { $0 < $1 }, pretty: false) == #"{"a":{},"b":[1,{"x":null}],"c":[]}"#)
    }

    @Test func settingAMemberReplacesItInPlaceAppendsOrRemoves() {
        var value: JSONValue = ["a": 1, "b": 2]
        value["a"] = "one"
        value["c"] = true
        value["b"] = nil
        value["e\u{301}"] = 3
        value["é"] = 4
        #expect(value.serialized() == #"{"a":"one","c":true,"e\#u{301}":3,"é":4}"#)
    }
}
