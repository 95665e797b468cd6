import ArgumentParser
import Foundation
import Logging
import TandemStack
import TandemStore

/// `tandem db bench`: the group-commit writer's throughput next to single-row inserts, in a scratch schema.
struct DatabaseBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the job-store writer (rows/s, batches) against single-row autocommit inserts.")

    @OptionGroup var options: ClusterDirectoryOptions

    @Option(help: "PostgreSQL URL (default: the private cluster in --dir).")
    var url: String?

    @Option(help: "Jobs to write (each: 3 upserts + 3 events).")
    var jobs: Int = 20_000

    @Option(help: "Single-row autocommit INSERTs for the reference rate.")
    var singleRowInserts: Int = 1000

    @Option(help: "Largest batch the writer commits.")
    var maxBatchWrites: Int = 2000

    func run() throws {
        let databaseURL = try url ?? PostgresCluster(directory: URL(fileURLWithPath: options.directory)).url()
        let schema = "bench_\(UInt32.random(in: 0...UInt32.max))"
        let configuration = try StoreConfiguration(databaseURL: databaseURL, schema: schema, maxBatchWrites: maxBatchWrites)
        let logger = Logger(label: "tandem.bench")
        defer {
            if let connection = try? PostgresConnection(url: databaseURL) {
                _ = try? connection.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
            }
        }
        let report = try JobStoreWriterBenchmark.run(
            configuration: configuration, jobs: jobs, singleRowInserts: singleRowInserts, logger: logger)
        print(report)
    }
}
