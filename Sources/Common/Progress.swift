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

/// Reports progress to standard error: a redrawn bar on a terminal, a plain line every `interval` seconds
/// otherwise (never one line per step when steps are fast). Shared by every long command: annotation counts
/// items and failures, training counts steps and shows the latest figures.
// Unchecked Sendable: its state is guarded by its lock.
public final class ProgressReporter: @unchecked Sendable {
    private let total: Int
    private let style: ProgressStyle
    private let interval: Double
    private let unit: String
    private let write: @Sendable (String) -> Void
    private let lock = NSLock()
    private var started = Date()
    private var startDone = 0
    private var done = 0
    private var failed: Int?
    private var detail = ""
    private var lastDraw = Date.distantPast

    /// `write` receives finished text (with `\r` or `\n`); the default writes to stderr. `unit` names what is
    /// counted in the rate (`it/s`, `steps/s`).
    public init(
        total: Int, style: ProgressStyle, interval: Double = 10, unit: String = "it",
        write: @escaping @Sendable (String) -> Void = ProgressReporter.standardError
    ) {
        self.total = total
        self.interval = interval
        self.unit = unit
        self.write = write
        if style == .auto {
            self.style = isatty(STDERR_FILENO) == 1 ? .bar : .plain
        } else {
            self.style = style
        }
    }

    /// Counts one finished item (annotation): the line then shows the failures.
    public func advance(failed itemFailed: Bool) {
        lock.withLock {
            done += 1
            failed = (failed ?? 0) + (itemFailed ? 1 : 0)
            draw(final: false)
        }
    }

    /// Sets the count to `done` (a training step) with `detail` (`loss 1.23  lr 2.0e-04`) after it. The first
    /// call after a resume sets the starting point, so the rate and ETA count only this run's steps (timed from
    /// the reporter's creation, just before the first of them started).
    public func update(done newDone: Int, detail newDetail: String) {
        lock.withLock {
            if lastDraw == .distantPast, done == 0 { startDone = max(0, newDone - 1) }
            done = newDone
            detail = newDetail
            draw(final: newDone >= total)
        }
    }

    /// Ends the bar's line, or prints a last plain line.
    public func finish() {
        lock.withLock {
            switch style {
            case .bar: write("\r" + line(bar: true) + "\u{1B}[K\n")
            case .plain: write(line(bar: false) + "\n")
            default: break
            }
            lastDraw = .distantFuture
        }
    }

    private func draw(final: Bool) {
        guard lastDraw != .distantFuture else { return }
        let now = Date()
        switch style {
        case .bar where final || now.timeIntervalSince(lastDraw) >= 0.1:
            lastDraw = now
            write("\r" + line(bar: true) + "\u{1B}[K")
        case .plain where now.timeIntervalSince(lastDraw) >= interval:
            lastDraw = now
            write(line(bar: false) + "\n")
        default:
            break
        }
    }

    /// `[#####-----] 120/256  47%  31.2 it/s  ETA 0:04  failed 2`, then the detail if any.
    func line(bar: Bool) -> String {
        let elapsed = Date().timeIntervalSince(started)
        let counted = done - startDone
        let rate = elapsed > 0 ? Double(counted) / elapsed : 0
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
        text += "\(done)/\(total) \(Int(fraction * 100))% \(String(format: rate < 1 ? "%.2f" : "%.1f", rate)) \(unit)/s "
        text += "ETA \(Self.clock(eta))"
        if let failed { text += " failed \(failed)" }
        if !detail.isEmpty { text += "  " + detail }
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
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }
}
