import ArgumentParser
import Foundation

/// `tandem render TEXT --out FILE.png`: draw glyphs on the stack's diffusion service.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "render", abstract: "Render characters with the diffusion service into a PNG.")

    @Argument(help: "The characters to draw (0-9, A-Z; one glyph each).")
    var text: String

    @Option(name: .long, help: "dpmpp-2m, dpmpp-3m, dpmpp-2m-karras, unipc, deis, ddim or euler.")
    var solver = "dpmpp-2m"

    @Option(name: .long, help: "Solver steps.")
    var steps = 10

    @Option(name: .long, help: "Classifier-free guidance scale.")
    var guidance = 3.0

    @Option(name: .long, help: "Seed of the initial noise.")
    var seed = 0

    @Option(name: .long, help: "Samples of the text, one row each.")
    var count = 1

    @Option(name: .long, help: "Where to write the PNG.")
    var out: String

    @Option(name: .long, help: "Higher runs first.")
    var priority: Int32 = 0

    @OptionGroup var router: RouterOptions

    func run() throws {
        let params = JSONOutput.compact(["text": text, "solver": solver, "steps": steps, "guidance": guidance, "seed": seed, "count": count])
        let client = try router.connect()
        let started = Date()
        let job = try client.submit(kind: "render", params: params, priority: priority)
        let bar = ProgressBar(label: "rendering \(text.debugDescription)")
        let final = try client.follow(job) { partial in
            guard let data = partial.data, let progress = jsonValue(data) as? [String: Any],
                  let step = progress["step"] as? Int, let total = progress["steps"] as? Int else { return }
            bar.show(step, of: total)
        }
        bar.finish()
        guard final.state == "succeeded", let png = final.blobs.first else { try FinalReport.print(final, json: false); return }
        try Data(png).write(to: URL(fileURLWithPath: out))
        let result = final.result.flatMap { jsonValue($0) as? [String: Any] } ?? [:]
        FileHandle.standardError.write(Data(String(format: "wrote %@ (%@×%@ px, %d bytes) in %.2f s, job %@\n",
            out, JSONOutput.cell(result["width"]), JSONOutput.cell(result["height"]), png.count, Date().timeIntervalSince(started), job.uuidString).utf8))
    }
}

/// A one-line progress bar on standard error.
struct ProgressBar {
    let label: String
    let width = 30

    func show(_ done: Int, of total: Int) {
        let filled = total > 0 ? min(width, done * width / total) : width
        let line = "\r\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(done)/\(total) steps"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
