import Foundation
import Testing
@testable import Demo

/// The pretrained base shipped with the tool still follows from the code: its manifest names today's recipe, the
/// recipe's data (posts, summaries, the teacher's critiques) hashes as it did when the base was made, the shipped
/// files are the ones the manifest hashed, and making a base is deterministic (two small makes are byte-identical).
@Suite(.serialized) struct DemoBaseTests {
    @Test func theShippedBaseFollowsFromTheRecipe() throws {
        let directory = try #require(DemoBase.shipped, "the Demo target's resources hold the base")
        let manifest = try DemoBase.manifest(in: directory)
        #expect(manifest.recipe == DemoBaseRecipe(), "the shipped base was made with another recipe: run scripts/make-demo-base.sh")
        #expect(try DemoBaseRecipe().dataFingerprint(sample: manifest.fingerprintSample) == manifest.dataFingerprint,
                "the recipe's data changed since the base was made: run scripts/make-demo-base.sh")
        for name in DemoBase.fileNames {
            #expect(try DemoBase.fileHash(directory + "/" + name) == manifest.files[name], "\(name) differs from the manifest")
        }
        // The shipped base measured 0.833 greedy when it was made; below 0.8 it no longer reads the post reliably.
        #expect(manifest.greedyAccuracy >= 0.8, "the base copies facts: \(manifest.greedyAccuracy)")
    }

    @Test func makingABaseIsDeterministic() throws {
        var recipe = DemoBaseRecipe()
        recipe.posts = 24
        recipe.tokenizerPosts = 24
        recipe.vocabularySize = 400
        recipe.shape = "tiny"
        recipe.steps = 2
        (recipe.critiquePosts, recipe.critiqueSummaryPosts, recipe.critiqueSteps, recipe.critiqueWarmupSteps) = (24, 24, 2, 1)
        recipe.batchSize = 4
        recipe.warmupSteps = 1
        recipe.maxLength = 1024  // a 400-token vocabulary writes longer critiques
        let root = NSTemporaryDirectory() + "demo-base-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var hashes: [[String]] = []
        for copy in 0..<2 {
            let output = root + "/\(copy)"
            try DemoBase.make(recipe: recipe, output: output, threads: 1, evaluationPosts: 2, log: { _ in })
            hashes.append(try DemoBase.fileNames.map { try DemoBase.fileHash(output + "/" + $0) })
            let manifest = try DemoBase.manifest(in: output)
            let fingerprint = try recipe.dataFingerprint(sample: DemoBase.fingerprintSample)
            #expect(manifest.recipe == recipe && manifest.dataFingerprint == fingerprint)
        }
        #expect(hashes[0] == hashes[1])
    }
}
