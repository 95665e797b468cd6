@testable import TandemTransport
import XCTest

/// What a worker bound at a wildcard address announces to its peers.
final class AdvertisedEndpointTests: XCTestCase {
    func testAnExplicitAddressWins() {
        XCTAssertEqual(AdvertisedEndpoint.resolve(bound: "tcp://0.0.0.0:5560", advertise: "tcp://decode-1:5560"), "tcp://decode-1:5560")
    }

    func testSpecificAddressesAndOtherTransportsAreKept() {
        XCTAssertEqual(AdvertisedEndpoint.resolve(bound: "tcp://127.0.0.1:41234"), "tcp://127.0.0.1:41234")
        XCTAssertEqual(AdvertisedEndpoint.resolve(bound: "ipc:///tmp/decode.sock"), "ipc:///tmp/decode.sock")
        XCTAssertFalse(AdvertisedEndpoint.hasWildcardHost("ipc:///tmp/0.0.0.0:1"))
    }

    func testAWildcardHostIsReplacedByThisHostsAddress() {
        XCTAssertEqual(AdvertisedEndpoint.replacingHost(in: "tcp://0.0.0.0:5560", with: "10.0.3.7"), "tcp://10.0.3.7:5560")
        XCTAssertEqual(AdvertisedEndpoint.replacingHost(in: "tcp://*:5560", with: "10.0.3.7"), "tcp://10.0.3.7:5560")
        XCTAssertNil(AdvertisedEndpoint.replacingHost(in: "tcp://:5560", with: "10.0.3.7"))
        XCTAssertTrue(AdvertisedEndpoint.hasWildcardHost("tcp://[::]:5560"))
        let resolved = AdvertisedEndpoint.resolve(bound: "tcp://0.0.0.0:5560")
        if let address = AdvertisedEndpoint.hostAddress() {
            XCTAssertEqual(resolved, "tcp://\(address):5560")
            XCTAssertFalse(address.hasPrefix("127."))
        } else {
            XCTAssertEqual(resolved, "tcp://0.0.0.0:5560", "no address to announce: the bound one is kept")
        }
    }
}
