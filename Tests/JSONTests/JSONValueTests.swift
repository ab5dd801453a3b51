import Foundation
import JSON
import Testing

/// The strict parser: what RFC 8259 allows is parsed, everything else is a `JSONParseError` with an offset,
/// never a crash, a coercion or a silent replacement.
@Suite struct JSONValueTests {
    /// The error `text` fails with, or nil when it parses.
    func failure(_ bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSONValue.parse(bytes)
            return nil
        } catch let error as JSONParseError {
            return error
        } catch {
            Issue.record("not a JSONParseError: \(error)")
            return nil
        }
    }

    func failure(_ text: String) -> JSONParseError? { failure(Array(text.utf8)) }

    @Test func parsesEveryKindInOrder() throws {
        let value = try JSONValue.parse(#"{"z": [1, true, null], "a": {"s": "x"}, "m": false}"#)
        #expect(value.objectValue?.map(\.key) == ["z", "a", "m"])
        #expect(value["z"] == .array([.number(1), .bool(true), .null]))
        #expect(value["a"]?["s"]?.stringValue == "x")
        #expect(value["m"] == .bool(false))
        #expect(value["missing"] == nil)
    }

    @Test func duplicateKeysAreRejectedEvenWhenSpelledDifferently() {
        #expect(failure(#"{"a": 1, "a": 2}"#)?.reason == #"duplicate key "a""#)
        // "\u0061" is "a": the keys are equal after escapes are read.
        let escaped = failure(#"{"a": 1, "\u0061": 2}"#)
        #expect(escaped?.reason == #"duplicate key "a""#)
        #expect(escaped?.offset == 9)
        // The same key in different objects is fine.
        #expect(failure(#"{"a": {"a": 1}, "b": {"a": 2}}"#) == nil)
    }

    @Test func keysCompareByScalarsNotCanonicalEquivalence() throws {
        // "é" (U+00E9) and "e" + U+0301 are canonically equivalent Strings but different keys.
        let value = try JSONValue.parse("{\"\u{E9}\": 1, \"e\u{301}\": 2}")
        #expect(value.objectValue?.count == 2)
        #expect(value["\u{E9}"]?.intValue == 1)
        #expect(value["e\u{301}"]?.intValue == 2)
    }

    @Test func deepNestingFailsCleanlyAtTheLimit() throws {
        // 100 000 nested arrays would overflow a recursive parser's stack; this one stops at 512 levels.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = failure(deep)
        #expect(error?.reason == "nesting too deep")
        #expect(error?.offset == 512)
        let objects = String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        #expect(failure(objects)?.reason == "nesting too deep")
        // 512 levels of arrays (values at depths 0 through 511) parse.
        #expect(failure(String(repeating: "[", count: 512) + String(repeating: "]", count: 512)) == nil)
        #expect(failure(String(repeating: "[", count: 513) + String(repeating: "]", count: 513)) != nil)
    }

    @Test func numbersAtTheEdges() throws {
        #expect(try JSONValue.parse("1e308").numberValue == 1e308)
        #expect(try JSONValue.parse("-1.7976931348623157e308").numberValue == -Double.greatestFiniteMagnitude)
        let negativeZero = try #require(try JSONValue.parse("-0").numberValue)
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        #expect(try JSONValue.parse("1E+2").numberValue == 100)
        #expect(try JSONValue.parse("2.5e-3").numberValue == 0.0025)
        #expect(try JSONValue.parse("0.5").numberValue == 0.5)
        // Below the smallest subnormal rounds to zero, which is still a finite number.
        #expect(try JSONValue.parse("1e-400").numberValue == 0)
        // Beyond Double's range is an error, never infinity.
        #expect(failure("1e400")?.reason == "number out of range")
        #expect(failure("-1e400")?.reason == "number out of range")
        // Big integers parse as the nearest Double but are not exact integers.
        let big = try JSONValue.parse("12345678901234567890")
        #expect(big.numberValue == 1.234_567_890_123_456_789_0e19)
        #expect(big.intValue == nil)
        #expect(try JSONValue.parse("9007199254740991").intValue == nil)
        #expect(try JSONValue.parse("8999999999999999").intValue == 8_999_999_999_999_999)
    }

    @Test func numbersOutsideTheGrammarAreRefused() {
        for text in ["01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "1.e5", "--1", "1-2", "0x10", "1.2.3",
                     "Infinity", "NaN", "-Infinity", "1_000", "١"] {
            #expect(failure(text) != nil, "\(text) was accepted")
        }
        #expect(failure("01")?.reason == "leading zero in number")
        #expect(failure("-")?.offset == 0)
        #expect(failure("1.")?.offset == 2)
        #expect(failure("[1, 01]")?.offset == 4)
    }

    @Test func invalidUTF8InStringsIsRefused() throws {
        let cases: [(name: String, bytes: [UInt8])] = [
            ("lone continuation byte", [0x80]),
            ("truncated two-byte sequence", [0xC3]),
            ("overlong slash", [0xC0, 0xAF]),
            ("overlong three-byte form", [0xE0, 0x80, 0xAF]),
            ("encoded surrogate U+D800", [0xED, 0xA0, 0x80]),
            ("past U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
            ("invalid lead byte", [0xFF]),
            ("truncated four-byte sequence", [0xF0, 0x9F, 0x98]),
        ]
        for (name, bad) in cases {
            let text = Array("[\"ok".utf8) + bad + Array("\"]".utf8)
            let error = failure(text)
            #expect(error?.reason == "invalid UTF-8", "\(name)")
            #expect(error?.offset == 4, "\(name)")
        }
        // Well-formed multi-byte text is kept exactly: 2, 3 and 4 byte forms.
        #expect(try JSONValue.parse("\"é€😀\"").stringValue == "é€😀")
    }

    @Test func surrogateEscapes() throws {
        #expect(try JSONValue.parse(#""\ud83d\ude00""#).stringValue == "😀")
        #expect(try JSONValue.parse(#""\u00e9\u20AC""#).stringValue == "é€")
        for text in [#""\ud800""#, #""\udc00""#, #""\ud800x""#, #""\ud800\u0041""#, #""\ud800\ud800""#,
                     #""a\ude00b""#] {
            #expect(failure(text)?.reason == "lone surrogate in \\u escape", "\(text)")
        }
        for text in [#""\u12""#, #""\u+041""#, #""\u-000""#, #""\u00g0""#, #""\x41""#, #""\"#, #""\u"#] {
            #expect(failure(text) != nil, "\(text) was accepted")
        }
    }

    @Test func repairingTextPutsReplacementCharacters() throws {
        // For a reader that names bad text itself: ill-formed UTF-8 and lone surrogates become U+FFFD, and an
        // escape after a lone high surrogate is still read.
        let bytes = Array(#"["a"#.utf8) + [0xC3] + Array(#"b\ud800\u0041", "\udc00"]"#.utf8)
        let value = try JSONValue.parse(bytes, repairingText: true)
        #expect(value == .array([.string("a\u{FFFD}b\u{FFFD}A"), .string("\u{FFFD}")]))
        #expect(failure(bytes)?.reason == "invalid UTF-8")
        // Everything else stays strict.
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array("[01]".utf8), repairingText: true) }
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(#"{"a":1,"a":2}"#.utf8), repairingText: true) }
    }

    @Test func escapesReadBack() throws {
        let value = try JSONValue.parse(#""\"\\\/\b\f\n\r\t\u0000""#)
        #expect(value.stringValue == "\"\\/\u{8}\u{C}\n\r\t\u{0}")
        // quoted(_:) writes what the parser reads back.
        let awkward = "a\"b\\c\n\u{1}\u{1F}é😀"
        #expect(try JSONValue.parse(JSONValue.quoted(awkward)).stringValue == awkward)
    }

    @Test func byteOrderMarkIsRefused() {
        let error = failure([0xEF, 0xBB, 0xBF] + Array("{}".utf8))
        #expect(error?.offset == 0)
    }

    @Test func trailingGarbageAndEmptyInput() {
        #expect(failure("{} x")?.reason == "trailing characters")
        #expect(failure("{} x")?.offset == 3)
        #expect(failure("1 2")?.reason == "trailing characters")
        #expect(failure("truex")?.reason == "trailing characters")
        #expect(failure("[1,]") != nil)
        #expect(failure(#"{"a":1,}"#)?.reason == "expected a key")
        #expect(failure("")?.reason == "unexpected end of input")
        #expect(failure("   ")?.reason == "unexpected end of input")
        #expect(failure("[")?.reason == "unexpected end of input")
        #expect(failure(#"{"a""#)?.reason == "expected ':'")
        #expect(failure(#""abc"#)?.reason == "unterminated string")
        #expect(failure("tru")?.reason == "unexpected character")
        #expect(failure([0x31, 0x00]) != nil)
    }

    @Test func whitespaceIsTheFourJSONCharactersOnly() throws {
        #expect(try JSONValue.parse(" \t\r\n[ 1 ,\t2 ]\n ") == .array([.number(1), .number(2)]))
        for space in ["\u{C}", "\u{B}", "\u{A0}", "\u{2028}", "\u{FEFF}"] {
            #expect(failure(space + "1") != nil, "U+\(String(space.unicodeScalars.first!.value, radix: 16))")
            #expect(failure("[1," + space + "2]") != nil)
        }
    }

    @Test func controlCharactersMustBeEscaped() throws {
        for byte in [UInt8(0x00), 0x09, 0x0A, 0x0D, 0x1F] {
            let error = failure([0x22, 0x61, byte, 0x22])
            #expect(error?.reason == "control character in string")
            #expect(error?.offset == 2)
        }
        // DEL (0x7F) is not a control character in JSON's grammar.
        #expect(try JSONValue.parse([0x22, 0x7F, 0x22]).stringValue == "\u{7F}")
    }
}
