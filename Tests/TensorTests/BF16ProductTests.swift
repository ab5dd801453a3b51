import Testing
@testable import Tensor

/// Products in bf16 (`ProductPrecision.bf16`): every operand rounded to bf16, the products summed in fp32. Held to
/// the naive product of the rounded operands, by the AVX-512 BF16 kernel where this CPU has one and by the fp32
/// emulation that stands in for it elsewhere.
@Suite struct BF16ProductTests {
    static func rounded(_ x: [Float]) -> [Float] {
        let copy = x.withUnsafeBufferPointer { roundedToBF16($0.baseAddress!, rows: 1, columns: x.count, ld: x.count) }
        defer { copy.deallocate() }
        return Array(UnsafeBufferPointer(start: copy, count: x.count))
    }

    static let shapes = [(1, 1, 1), (7, 13, 5), (9, 3, 40), (33, 77, 129), (65, 300, 700)]

    @Test(arguments: shapes)
    func forwardMatchesTheNaiveProductOfRoundedOperands(rows N: Int, inChannels IC: Int, outChannels OC: Int) {
        let x = KernelForwardTests.random(N * IC, seed: 11), w = KernelForwardTests.random(OC * IC, seed: 12)
        let bias = KernelForwardTests.random(OC, seed: 13)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2] {
            Parallel.threadCount = threads
            for withBias in [false, true] {
                var fast = [Float](repeating: 0, count: N * OC), naive = fast
                bias.withUnsafeBufferPointer { b in
                    let biasPointer = withBias ? b.baseAddress : nil
                    matmulForward(out: &fast, input: x, weight: w, bias: biasPointer, rows: N, inChannels: IC,
                                  outChannels: OC, precision: .bf16)
                    matmulForwardNaive(out: &naive, input: Self.rounded(x), weight: Self.rounded(w), bias: biasPointer,
                                       rows: N, inChannels: IC, outChannels: OC)
                }
                #expect(KernelForwardTests.maxError(fast, naive) < 1e-5 * Float(IC).squareRoot(),
                        "N \(N) IC \(IC) OC \(OC) bias \(withBias) threads \(threads)")
            }
        }
    }

    @Test(arguments: shapes)
    func inputGradientMatchesTheNaiveProductOfRoundedOperands(rows N: Int, inChannels IC: Int, outChannels OC: Int) {
        let dy = KernelForwardTests.random(N * OC, seed: 14), w = KernelForwardTests.random(OC * IC, seed: 15)
        let x = KernelForwardTests.random(N * IC, seed: 16), start = KernelForwardTests.random(N * IC, seed: 17)
        var fast = start, naive = start
        var dw = [Float](repeating: 0, count: OC * IC), dwNaive = dw
        matmulBackward(dinput: &fast, dweight: &dw, dbias: nil, dout: dy, input: x, weight: w, rows: N, inChannels: IC,
                       outChannels: OC, precision: .bf16)
        matmulBackwardNaive(dinput: &naive, dweight: &dwNaive, dbias: nil, dout: Self.rounded(dy), input: x,
                            weight: Self.rounded(w), rows: N, inChannels: IC, outChannels: OC)
        #expect(KernelForwardTests.maxError(fast, naive) < 1e-5 * Float(OC).squareRoot(),
                "dinput N \(N) IC \(IC) OC \(OC)")
        // The weight gradient stays fp32: the unrounded dout and input.
        var dwFP32 = [Float](repeating: 0, count: OC * IC)
        matmulBackwardNaive(dinput: nil, dweight: &dwFP32, dbias: nil, dout: dy, input: x, weight: w, rows: N,
                            inChannels: IC, outChannels: OC)
        #expect(KernelForwardTests.maxError(dw, dwFP32) < 1e-5 * Float(N).squareRoot(),
                "dweight N \(N) IC \(IC) OC \(OC)")
    }

    @Test func theEmulationGivesTheKernelsResult() {
        // Where the CPU has bf16 dot products this holds the kernel to the emulation; elsewhere both are it.
        let (m, n, k) = (37, 70, 515)
        let a = KernelForwardTests.random(m * k, seed: 18), b = KernelForwardTests.random(n * k, seed: 19)
        for transB in [false, true] {
            var viaProduct = [Float](repeating: 0, count: m * n), emulated = viaProduct
            let ldb = transB ? k : n
            product(.bf16, c: &viaProduct, ldc: n, a: a, lda: k, b: b, ldb: ldb, transB: transB, m: m, n: n, k: k,
                    accumulate: false)
            emulatedBF16Product(c: &emulated, ldc: n, a: a, lda: k, b: b, ldb: ldb, transB: transB, m: m, n: n, k: k,
                                accumulate: false)
            let error = KernelForwardTests.maxError(viaProduct, emulated)
            #expect(error < 1e-5 * Float(k).squareRoot(), "transB \(transB)")
        }
    }

    @Test func bf16IsCloseToFP32() {
        // The rounding's size: each operand within 2⁻⁹ relative, so a product of sums within about 2⁻⁸.
        let (N, IC, OC) = (16, 256, 48)
        let x = KernelForwardTests.random(N * IC, seed: 20), w = KernelForwardTests.random(OC * IC, seed: 21)
        var bf16 = [Float](repeating: 0, count: N * OC), fp32 = bf16
        matmulForward(out: &bf16, input: x, weight: w, bias: nil, rows: N, inChannels: IC, outChannels: OC,
                      precision: .bf16)
        matmulForward(out: &fp32, input: x, weight: w, bias: nil, rows: N, inChannels: IC, outChannels: OC)
        let scale = fp32.map(abs).max() ?? 1
        #expect(KernelForwardTests.maxError(bf16, fp32) < scale / 64)
        #expect(KernelForwardTests.maxError(bf16, fp32) > 0)
    }
}
