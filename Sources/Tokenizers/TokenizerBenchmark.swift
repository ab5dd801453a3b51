import Foundation

/// Encode throughput measurement shared by `text2grad bench tokenize` and the tests.
public enum TokenizerBenchmark {
    /// Bytes encoded, tokens produced and the best wall time of the repetitions.
    public struct Result: Sendable {
        /// UTF-8 bytes of the text.
        public let bytes: Int
        /// Tokens produced (without special tokens).
        public let tokens: Int
        /// Best time over the repetitions, in seconds.
        public let seconds: Double
        /// Every repetition's time, in the order they ran.
        public let allSeconds: [Double]
        /// Megabytes (10^6 bytes) per second.
        public var megabytesPerSecond: Double { Double(bytes) / 1e6 / seconds }
    }

    /// Encodes `text` line by line (as `bench/hf_tokenize.py` does), `repeats` times, single-threaded.
    public static func run(_ tokenizer: Tokenizer, text: String, repeats: Int) -> Result {
        let lines = text.components(separatedBy: "\n")
        var times: [Double] = []
        var tokens = 0
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            var count = 0
            for line in lines { count += tokenizer.encode(line, addSpecialTokens: false).ids.count }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            tokens = count
        }
        return Result(bytes: text.utf8.count, tokens: tokens, seconds: times.min()!, allSeconds: times)
    }

    /// A deterministic multilingual text (English prose, code, accents, CJK, emoji) of about `megabytes` MB.
    public static func syntheticText(megabytes: Double) -> String {
        let paragraphs = [
            "The summary gets the cat's name right but says the move was in May; the post says March. "
                + "Reviewers noted that the response was mostly accurate, although it didn't mention the budget.",
            "def tokenize(text):\n    return [vocab.get(word, UNK) for word in text.split()]  # 42 items\n",
            "Café déjà vu: naïve façade, Ångström and Straße — 3.14159 × 2 = 6.28318.",
            "中文文本和日本語のテキスト、한국어 문장도 포함됩니다。",
            "Emoji 😀👍🏽 and a family 👨‍👩‍👧‍👦 in a sentence, with numbers 1234567 and 2026-11-26.",
        ]
        var out = ""
        var i = 0
        let target = Int(megabytes * 1e6)
        while out.utf8.count < target {
            out += paragraphs[i % paragraphs.count] + " " + String(i) + "\n"
            i += 1
        }
        return out
    }
}
