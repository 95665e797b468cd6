import Foundation

/// Facts a test needs about where it runs.
public enum TestEnvironment {
    /// The PostgreSQL URL `make test` exports; integration tests need it.
    public static var databaseURL: String? {
        ProcessInfo.processInfo.environment["TANDEM_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `TANDEM_ALLOW_NO_DATABASE=1` lets database tests skip instead of failing when no URL is set
    /// (a quick `swift test` of the pure parts). Without it a missing database is a failure.
    public static var allowsNoDatabase: Bool {
        ProcessInfo.processInfo.environment["TANDEM_ALLOW_NO_DATABASE"] == "1"
    }
}
