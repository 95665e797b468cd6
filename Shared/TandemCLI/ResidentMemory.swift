import Foundation

/// Resident memory from /proc/self/status, in MB of 10^6 bytes like the file and KV sizes printed
/// beside it: anonymous (heap, packed weights, KV cache) and file-backed (the binary, its
/// libraries, mapped model pages) apart, and the peak of the sum.
struct ResidentMemory: CustomStringConvertible {
    var residentMB = 0.0
    var anonymousMB = 0.0
    var fileBackedMB = 0.0
    var peakMB = 0.0

    static func current() -> ResidentMemory {
        var m = ResidentMemory()
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return m }
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kiB = Double(parts[1]) else { continue }
            let mb = kiB * 1024 / 1e6  // /proc's "kB" are KiB
            switch parts[0] {
            case "VmRSS:": m.residentMB = mb
            case "RssAnon:": m.anonymousMB = mb
            case "RssFile:": m.fileBackedMB = mb
            case "VmHWM:": m.peakMB = mb
            default: break
            }
        }
        return m
    }

    var description: String {
        String(format: "RSS %.1f MB = anonymous %.1f + file %.1f; peak %.1f MB", residentMB, anonymousMB, fileBackedMB, peakMB)
    }
}
