import SafeTensors
import Tensor

extension TensorArena {
    /// Fills every tensor of the arena from `source` by its name, checking shapes; `location` names the
    /// directory in errors. Model weights, LoRA adapters and the value head all load this way.
    func fill(from source: TensorSource, location: String) throws {
        for (name, tensor) in tensors() {
            guard let info = source.info(name) else { throw ModelError.missingTensor(name: name, directory: location) }
            guard info.shape == tensor.shape else {
                throw ModelError.shapeMismatch(name: name, expected: tensor.shape, found: info.shape, directory: location)
            }
            try source.read(name, into: tensor.data, count: tensor.count)
        }
    }
}

extension TensorSource {
    /// Checks that the source holds every tensor of `layout` with its shape, before anything is allocated: a
    /// config or adapter config asking for sizes the checkpoint does not hold fails here, naming the tensor,
    /// instead of aborting on a huge allocation.
    public func checkShapes(_ layout: [(name: String, shape: [Int])], location: String) throws {
        for (name, shape) in layout {
            guard let info = info(name) else { throw ModelError.missingTensor(name: name, directory: location) }
            guard info.shape == shape else {
                throw ModelError.shapeMismatch(name: name, expected: shape, found: info.shape, directory: location)
            }
        }
    }
}
