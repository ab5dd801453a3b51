import Foundation
import GGUFConversion

/// The one place GGUF files become model directories for every command: before the command line is parsed, the
/// value of each model-path option that names a GGUF file is replaced by the directory it converts to (converted
/// once, then reused from the cache; see `GGUFModelCache`). Commands and the library see a directory as always.
///
/// Paths given in a YAML config (`model:`) are not rewritten: give those as directories, or pass `--model`.
enum ModelArguments {
    /// The options whose value is a model or tokenizer directory.
    static let options: Set<String> = ["--model", "--base", "--reward-model", "--tokenizer"]

    static func resolvingGGUF(_ arguments: [String]) throws -> [String] {
        var out: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                out += arguments[index...]
                break
            }
            if options.contains(argument), index + 1 < arguments.count {
                out += [argument, try directory(arguments[index + 1])]
                index += 2
                continue
            }
            if let equals = argument.firstIndex(of: "="), options.contains(String(argument[..<equals])) {
                let value = String(argument[argument.index(after: equals)...])
                out.append(String(argument[..<equals]) + "=" + (try directory(value)))
            } else {
                out.append(argument)
            }
            index += 1
        }
        return out
    }

    static func directory(_ path: String) throws -> String {
        try GGUFModelCache.directory(for: path) { note("gguf: " + $0) }
    }
}
