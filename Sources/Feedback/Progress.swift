import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How progress is shown.
public enum ProgressStyle: String, Codable, Sendable, CaseIterable {
    /// A bar on a terminal, plain lines otherwise.
    case auto
    /// A redrawn bar with rate, ETA and failures.
    case bar
    /// A plain line every `progress_interval` seconds, for logs and CI.
    case plain
    /// Nothing until the summary.
    case none
}

/// Reports progress to standard error; shared by the item tasks.
public actor ProgressReporter {
    private let total: Int
    private let style: ProgressStyle
    private let interval: Double
    private let write: @Sendable (String) -> Void
    private let started = Date()
    private var done = 0
    private var failed = 0
    private var lastDraw = Date.distantPast

    /// `write` receives finished text (with `\r` or `\n`); the default writes to stderr.
    public init(
        total: Int, style: ProgressStyle, interval: Double = 10,
        write: @escaping @Sendable (String) -> Void = ProgressReporter.standardError
    ) {
        self.total = total
        self.interval = interval
        self.write = write
        if style == .auto {
            self.style = isatty(STDERR_FILENO) == 1 ? .bar : .plain
        } else {
            self.style = style
        }
    }

    /// Counts one finished item.
    public func advance(failed itemFailed: Bool) {
        done += 1
        if itemFailed { failed += 1 }
        let now = Date()
        switch style {
        case .bar where now.timeIntervalSince(lastDraw) >= 0.1:
            lastDraw = now
            write("\r" + line(bar: true) + "\u{1B}[K")
        case .plain where now.timeIntervalSince(lastDraw) >= interval:
            lastDraw = now
            write(line(bar: false) + "\n")
        default:
            break
        }
    }

    /// Ends the bar's line, or prints a last plain line.
    public func finish() {
        switch style {
        case .bar: write("\r" + line(bar: true) + "\u{1B}[K\n")
        case .plain: write(line(bar: false) + "\n")
        default: break
        }
    }

    /// `[#####-----] 120/256  47%  31.2 it/s  ETA 0:04  failed 2`
    func line(bar: Bool) -> String {
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let eta = rate > 0 ? Double(total - done) / rate : 0
        var text = ""
        if bar {
            let width = 30
            let filled = min(width, Int(fraction * Double(width)))
            text += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
        } else {
            text += "progress: "
        }
        text += "\(done)/\(total) \(Int(fraction * 100))% \(String(format: "%.1f", rate)) it/s "
        text += "ETA \(Self.clock(eta)) failed \(failed)"
        return text
    }

    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60)
        return hours > 0
            ? String(format: "%d:%02d:%02d", hours, minutes, secs) : String(format: "%d:%02d", minutes, secs)
    }

    /// Writes to standard error without buffering.
    public static let standardError: @Sendable (String) -> Void = { text in
        FileHandle.standardError.write(Data(text.utf8))
    }
}
