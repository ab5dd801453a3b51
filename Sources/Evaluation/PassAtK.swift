/// pass@k, the chance that at least one of k samples drawn from a task's n passes (Chen et al. 2021).
public enum PassAtK {
    /// The unbiased estimator for one task with `n` samples of which `correct` passed:
    /// 1 − C(n − c, k) / C(n, k), computed as 1 − ∏_{i = n−c+1}^{n} (1 − k / i) so that no binomial
    /// coefficient is ever formed (HumanEval's `estimate_pass_at_k`, same order of products).
    public static func estimate(samples n: Int, correct c: Int, k: Int) -> Double {
        precondition(n >= 1 && c >= 0 && c <= n && k >= 1 && k <= n, "pass@k needs 1 ≤ k ≤ n and 0 ≤ c ≤ n")
        if n - c < k { return 1 }
        if c == 0 { return 0 }
        var product = 1.0
        for i in (n - c + 1)...n { product *= 1 - Double(k) / Double(i) }
        return 1 - product
    }

    /// The mean of `estimate` over tasks, for each k that every task has at least k samples for.
    /// `counts` holds (samples, correct) per task; the result maps k to pass@k.
    public static func summary(_ counts: [(samples: Int, correct: Int)], ks: [Int] = [1, 10, 100]) -> [Int: Double] {
        guard !counts.isEmpty, let fewest = counts.map(\.samples).min(), fewest >= 1 else { return [:] }
        var result: [Int: Double] = [:]
        for k in ks where k <= fewest {
            var sum = 0.0
            for task in counts { sum += estimate(samples: task.samples, correct: task.correct, k: k) }
            result[k] = sum / Double(counts.count)
        }
        return result
    }
}
