import Foundation
import TandemClient
import TandemModel

/// Keeps a `DraftWorkerPool`'s endpoint list current: asks the router for its workers (QUERY
/// `workers`) every `interval` and keeps the data-plane endpoints of the `draft` workers that are
/// not draining, with the draft methods each reported in its heartbeat's load. A draft worker that comes back is thus in use within one interval; one that dies
/// is dropped by the pool at its first failed send or timeout, before the router notices.
///
/// Why ask the router rather than have it name a draft worker in each DISPATCH: drafting is per
/// step, not per job; a generation that started while no draft worker was up must pick one up when
/// it appears, and one whose draft worker dies must move, both mid-job. The router already knows
/// every worker's endpoint and liveness, so one small query per second per decode worker is all it
/// takes, and the router's dispatch path stays as it is.
public final class DraftWorkerDirectory: Sendable {
    public let routerEndpoint: String
    public let interval: Duration
    public let pool: DraftWorkerPool

    public init(routerEndpoint: String, interval: Duration = .seconds(1), pool: DraftWorkerPool) {
        self.routerEndpoint = routerEndpoint; self.interval = interval; self.pool = pool
    }

    /// Starts the polling thread (it runs as long as the process).
    public func start() {
        let thread = Thread { [self] in
            var client: RouterClient?
            while true {
                do {
                    if client == nil {
                        client = try RouterClient(configuration: .init(routerEndpoint: routerEndpoint, replyTimeoutMilliseconds: 2000))
                    }
                    let answer = try client!.query(.workers) as? [String: Any]
                    pool.setEndpoints(Self.draftOffers(answer?["workers"] as? [[String: Any]] ?? []))
                } catch {
                    // The router is away: keep the last list (the pool drops dead workers itself).
                    client = nil
                }
                Thread.sleep(forTimeInterval: Double(interval.components.seconds) + Double(interval.components.attoseconds) * 1e-18)
            }
        }
        thread.name = "tandem-decode-drafts"
        thread.start()
    }

    /// The endpoints of the draft workers in the router's worker list that take work, with the
    /// methods each offers. A draft worker whose first heartbeat (its methods) has not reached the
    /// router yet is left out until it has; method names this build does not know are skipped.
    public static func draftOffers(_ workers: [[String: Any]]) -> [String: Set<DraftMethod>] {
        var offers: [String: Set<DraftMethod>] = [:]
        for w in workers {
            guard w["service"] as? String == "draft", w["draining"] as? Bool != true, let endpoint = w["endpoint"] as? String,
                  let methods = w["draft_methods"] as? [String] else { continue }
            offers[endpoint] = Set(methods.compactMap(DraftMethod.init(rawValue:)))
        }
        return offers
    }
}
