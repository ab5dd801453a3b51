import Generation
import Testing

@Suite struct SamplerTests {
    func draws(_ logits: [Float], _ configure: (inout SamplingParameters) -> Void, count: Int = 2000) -> [Int: Int] {
        var p = SamplingParameters()
        p.temperature = 1
        p.seed = 42
        configure(&p)
        var sampler = Sampler(parameters: p, vocabSize: logits.count)
        var counts: [Int: Int] = [:]
        logits.withUnsafeBufferPointer { x in
            for _ in 0..<count {
                counts[sampler.next(logits: x.baseAddress!, history: [], generated: 0, stopIds: []).token.id, default: 0] += 1
            }
        }
        return counts
    }

    // Probabilities 0.5, 0.25, 0.125, 0.125 (log 4, log 2, 0, 0 up to a constant).
    let logits: [Float] = [Float(4).logValue, Float(2).logValue, 0, 0]

    @Test("temperature 1 draws in proportion to the probabilities")
    func proportions() {
        let counts = draws(logits) { _ in }
        #expect(abs(Double(counts[0, default: 0]) / 2000 - 0.5) < 0.05)
        #expect(abs(Double(counts[1, default: 0]) / 2000 - 0.25) < 0.05)
    }

    @Test("top-p 0.7 keeps the two most likely tokens; top-k 1 only the first")
    func filters() {
        let nucleus = draws(logits) { $0.topP = 0.7 }
        #expect(Set(nucleus.keys) == [0, 1])
        #expect(abs(Double(nucleus[0, default: 0]) / 2000 - 2.0 / 3) < 0.05)
        #expect(draws(logits) { $0.topK = 1 } == [0: 2000])
        #expect(Set(draws(logits) { $0.topK = 3 }.keys) == [0, 1, 2])
    }

    @Test("a low temperature concentrates on the most likely token")
    func lowTemperature() {
        let counts = draws(logits) { $0.temperature = 0.05 }
        #expect(counts[0, default: 0] > 1990)
    }

    @Test("the reported log-probability and alternatives are the raw model's")
    func logprobs() {
        var p = SamplingParameters()
        p.topLogprobs = 2
        var sampler = Sampler(parameters: p, vocabSize: 4)
        let (token, top) = logits.withUnsafeBufferPointer { sampler.next(logits: $0.baseAddress!, history: [], generated: 0, stopIds: []) }
        #expect(token.id == 0)
        #expect(abs(token.logprob - Float(0.5).logValue) < 1e-5)
        #expect(top.map(\.id) == [0, 1])
        #expect(abs(top[1].logprob - Float(0.25).logValue) < 1e-5)
    }

    @Test("repetition penalty divides positive logits and multiplies negative ones")
    func repetitionPenalty() {
        var p = SamplingParameters()
        p.repetitionPenalty = 3
        var sampler = Sampler(parameters: p, vocabSize: 3)
        let x: [Float] = [3, 2, -1]
        // 3 / 3 = 1 < 2, so greedy picks token 1.
        let picked = x.withUnsafeBufferPointer { sampler.next(logits: $0.baseAddress!, history: [0], generated: 0, stopIds: []).token.id }
        #expect(picked == 1)
        let y: [Float] = [-0.5, -1, -2]
        // −0.5 · 3 = −1.5 < −1.
        let pickedNegative = y.withUnsafeBufferPointer { sampler.next(logits: $0.baseAddress!, history: [0], generated: 0, stopIds: []).token.id }
        #expect(pickedNegative == 1)
    }

    @Test("stop ids cannot be drawn before the minimum length")
    func minimumLength() {
        var p = SamplingParameters()
        p.minNewTokens = 2
        var sampler = Sampler(parameters: p, vocabSize: 4)
        let before = logits.withUnsafeBufferPointer { sampler.next(logits: $0.baseAddress!, history: [], generated: 1, stopIds: [0]).token.id }
        let after = logits.withUnsafeBufferPointer { sampler.next(logits: $0.baseAddress!, history: [], generated: 2, stopIds: [0]).token.id }
        #expect(before == 1 && after == 0)
    }

    @Test("the stop-string matcher never takes back emitted text")
    func stopMatcher() {
        var m = StopStringMatcher(stops: ["END", "xy"])
        var out = m.append("hello E")
        #expect(out == "hello ")
        out += m.append("N")
        #expect(out == "hello ")
        out += m.append("o x")
        #expect(out == "hello ENo ")
        out += m.append("yz")
        #expect(out == "hello ENo " && m.stopped)
        var plain = StopStringMatcher(stops: ["END"])
        #expect(plain.append("abc EN") == "abc ")
        #expect(plain.finish() == "EN")
    }
}

private extension Float {
    var logValue: Float { Float(log(Double(self))) }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
