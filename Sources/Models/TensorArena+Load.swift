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
