/// The worker services a local stack may run, in start order. Each is an executable
/// `tandem-NAME` next to `tandem`; `tandem up` starts one of each that exists.
public enum ServiceCatalog {
    public static let services = ["echo", "prefill", "decode", "draft", "diffusion", "checkpoint"]

    public static func executableName(_ service: String) -> String { "tandem-\(service)" }

    public static let routerExecutableName = "tandem-router"
}
