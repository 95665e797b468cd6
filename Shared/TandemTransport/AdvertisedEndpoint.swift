#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The address peers connect to for a socket bound at a wildcard address.
///
/// A data-plane socket bound at `tcp://0.0.0.0:5560` (as in a container) reports that address,
/// which no peer can connect to. Unless told what to announce, a worker announces its host's own
/// address instead: the first non-loopback IPv4 address its host name resolves to (in a compose
/// network, the container's address, which the engine writes into /etc/hosts).
public enum AdvertisedEndpoint {
    /// `advertise` when given; else `bound` with a wildcard host (`0.0.0.0`, `*`, `[::]`) replaced
    /// by this host's address; else `bound` unchanged.
    public static func resolve(bound: String, advertise: String? = nil) -> String {
        if let advertise, !advertise.isEmpty { return advertise }
        guard hasWildcardHost(bound), let address = hostAddress() else { return bound }
        return replacingHost(in: bound, with: address) ?? bound
    }

    static func hasWildcardHost(_ endpoint: String) -> Bool {
        guard let host = host(of: endpoint) else { return false }
        return host == "0.0.0.0" || host == "*" || host == "[::]"
    }

    /// `tcp://HOST:PORT` with `HOST` replaced; nil for other transports or shapes.
    static func replacingHost(in endpoint: String, with newHost: String) -> String? {
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":"), colon > endpoint.index(endpoint.startIndex, offsetBy: 6) else { return nil }
        return "tcp://" + newHost + endpoint[colon...]
    }

    static func host(of endpoint: String) -> String? {
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else { return nil }
        let start = endpoint.index(endpoint.startIndex, offsetBy: 6)
        return colon > start ? String(endpoint[start..<colon]) : nil
    }

    /// The first non-loopback IPv4 address of this host's name, as text.
    static func hostAddress() -> String? {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count) == 0 else { return nil }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0 else { return nil }
        defer { freeaddrinfo(list) }
        var entry = list
        while let info = entry?.pointee {
            defer { entry = info.ai_next }
            guard let raw = info.ai_addr else { continue }
            var address = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            guard inet_ntop(AF_INET, &address, &text, socklen_t(text.count)) != nil else { continue }
            let string = String(cString: text)
            if !string.hasPrefix("127.") { return string }
        }
        return nil
    }
}
