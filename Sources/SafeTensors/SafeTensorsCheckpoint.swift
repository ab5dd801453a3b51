import JSON
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The weights of a Hugging Face model directory: `model.safetensors`, or the shards named by
/// `model.safetensors.index.json` (`{"weight_map": {tensor: file}}`).
// Unchecked Sendable: read-only after opening (its files are mapped, never written).
public final class SafeTensorsCheckpoint: @unchecked Sendable {
    public let directory: String
    private let files: [SafeTensorsFile]
    private let location: [String: Int]

    /// Opens and validates every file of the checkpoint.
    public init(directory: String) throws {
        self.directory = directory
        let indexPath = directory + "/model.safetensors.index.json"
        let singlePath = directory + "/model.safetensors"
        if access(indexPath, F_OK) == 0 {
            let shardNames = try Self.readIndex(path: indexPath)
            var files: [SafeTensorsFile] = []
            var location: [String: Int] = [:]
            for (fileIndex, shard) in shardNames.files.enumerated() {
                let file = try SafeTensorsFile(path: directory + "/" + shard)
                files.append(file)
                for info in file.tensors { location[info.name] = fileIndex }
            }
            for (tensor, shard) in shardNames.weightMap {
                guard let fileIndex = location[tensor], files[fileIndex].path.hasSuffix("/" + shard) else {
                    throw SafeTensorsError.missingTensor(name: tensor, location: "\(directory)/\(shard) (listed in the index)")
                }
            }
            self.files = files
            self.location = location
        } else if access(singlePath, F_OK) == 0 {
            let file = try SafeTensorsFile(path: singlePath)
            files = [file]
            location = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, 0) })
        } else {
            throw SafeTensorsError.cannotOpen(
                path: directory, reason: "neither model.safetensors nor model.safetensors.index.json is there")
        }
    }

    /// Every tensor name in the checkpoint.
    public var names: [String] { files.flatMap { $0.tensors.map(\.name) } }

    public func info(_ name: String) -> TensorInfo? { location[name].flatMap { files[$0].info(name) } }

    public func file(containing name: String) throws -> SafeTensorsFile {
        guard let fileIndex = location[name] else { throw SafeTensorsError.missingTensor(name: name, location: directory) }
        return files[fileIndex]
    }

    public func read(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        try file(containing: name).read(name, into: destination, count: count)
    }

    public func floats(_ name: String) throws -> [Float] { try file(containing: name).floats(name) }

    static func readIndex(path: String) throws -> (files: [String], weightMap: [String: String]) {
        let bytes = try readWholeFile(path)
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch let error as JSONParseError {
            throw SafeTensorsError.badIndex(path: path, reason: "bad JSON: \(error)")
        }
        guard let map = json["weight_map"]?.objectValue else {
            throw SafeTensorsError.badIndex(path: path, reason: "no 'weight_map' object")
        }
        var weightMap: [String: String] = [:]
        var files: [String] = []
        for (tensor, value) in map {
            guard let shard = value.stringValue, !shard.contains("/") else {
                throw SafeTensorsError.badIndex(path: path, reason: "weight_map entry '\(tensor)' is not a file name in the directory")
            }
            weightMap[tensor] = shard
            if !files.contains(shard) { files.append(shard) }
        }
        return (files, weightMap)
    }
}

/// The bytes of a file, or a typed error naming it.
/// Only regular files are read (a FIFO would block), and at most `maxHeaderBytes` of them.
public func readWholeFile(_ path: String) throws -> [UInt8] {
    var info = stat()
    guard stat(path, &info) == 0 else {
        throw SafeTensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
    }
    guard info.st_mode & S_IFMT == S_IFREG else { throw SafeTensorsError.cannotOpen(path: path, reason: "not a regular file") }
    guard UInt64(info.st_size) <= maxHeaderBytes else {
        throw SafeTensorsError.cannotOpen(path: path, reason: "\(info.st_size) bytes, more than \(maxHeaderBytes)")
    }
    guard let handle = fopen(path, "rb") else {
        throw SafeTensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
    }
    defer { fclose(handle) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, handle) }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

/// Anything tensors can be read from by name: one safetensors file or a (sharded) checkpoint directory.
public protocol TensorSource {
    func info(_ name: String) -> TensorInfo?
    func read(_ name: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws
}

extension SafeTensorsFile: TensorSource {}
extension SafeTensorsCheckpoint: TensorSource {}
