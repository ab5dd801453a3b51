#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// The raw system calls the file readers and writers use, named apart from the methods (`read`, `write`, `close`)
// that would otherwise shadow them inside those types.
#if canImport(Glibc)
    let systemRead = Glibc.read
    let systemWrite = Glibc.write
    let systemClose = Glibc.close
#else
    let systemRead = Darwin.read
    let systemWrite = Darwin.write
    let systemClose = Darwin.close
#endif

/// An error number in the system's words ("No space left on device").
func systemReason(_ code: Int32) -> String { String(cString: strerror(code)) }
