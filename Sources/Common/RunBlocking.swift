import Foundation

/// Runs async work to completion from synchronous code (the training loop and the demo pipeline are synchronous;
/// clients and the annotation run are async). Must not be called from the cooperative pool's own threads.
public func runBlocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let semaphore = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task.detached {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        semaphore.signal()
    }
    semaphore.wait()
    return try box.result!.get()
}

// Unchecked Sendable: written once before the semaphore is signalled, read after the wait.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
