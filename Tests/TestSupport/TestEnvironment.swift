import Foundation

/// Facts a test needs about where it runs.
public enum TestEnvironment {
    /// The PostgreSQL URL `make test` exports; integration tests need it.
    public static var databaseURL: String? { ProcessInfo.processInfo.environment["TANDEM_TEST_DATABASE_URL"] }
}
