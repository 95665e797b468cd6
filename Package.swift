// swift-tools-version:6.0
// Tandem: an inference-serving fabric over ZeroMQ + MessagePack with a PostgreSQL job store.
import PackageDescription

/// Hot numeric code is built for Haswell (AVX2 + FMA): without it `addingProduct` is not vectorized
/// (MEASURED.md). Every machine this project runs on has AVX2; AVX-512 is chosen at run time.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]

/// Hot numeric code (model and diffusion kernels) is optimized in every configuration: a debug
/// `swift test` would otherwise run the forward passes ~100× slower.
let kernelSettings: [SwiftSetting] = fastMath + [.unsafeFlags(["-O"])]

let package = Package(
    name: "Tandem",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tandem", targets: ["TandemCLIMain"]),
        .executable(name: "tandem-router", targets: ["TandemRouterMain"]),
        .executable(name: "tandem-echo", targets: ["TandemEchoMain"]),
        .executable(name: "tandem-diffusion", targets: ["TandemDiffusionMain"]),
        .executable(name: "tandem-diffusion-bench", targets: ["TandemDiffusionBenchMain"]),
        .executable(name: "tandem-decode", targets: ["TandemDecodeMain"]),
        .executable(name: "tandem-prefill", targets: ["TandemPrefillMain"]),
        .executable(name: "tandem-draft", targets: ["TandemDraftMain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // C libraries from Debian's -dev packages, imported through module maps.
        .systemLibrary(name: "CZeroMQ", path: "Shared/CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CMessagePack", path: "Shared/CMessagePack", pkgConfig: "msgpack", providers: [.apt(["libmsgpack-dev"])]),
        .systemLibrary(name: "CPNG", path: "Shared/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CPostgres", path: "Shared/CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Wire types and the codec. Depends on nothing of Tandem's (STYLE.md habit 5).
        .target(name: "TandemWire", dependencies: ["CMessagePack"], path: "Shared/TandemWire"),
        // ZeroMQ sockets, polling and wake-ups, owned by one thread each.
        .target(name: "TandemTransport", dependencies: ["CZeroMQ", "TandemWire"], path: "Shared/TandemTransport"),
        // PostgreSQL job store: migrations, group-committed writes, recovery queries.
        .target(name: "TandemStore", dependencies: ["CPostgres", .product(name: "Logging", package: "swift-log")], path: "Shared/TandemStore"),
        // The router: registry, queues, pure dispatch, the poll loop.
        .target(name: "TandemRouter", dependencies: [
            "TandemWire", "TandemTransport", "TandemStore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/TandemRouter"),
        // What every worker service runs on: READY, heartbeats, jobs up to capacity, graceful shutdown.
        .target(name: "TandemService", dependencies: [
            "TandemWire", "TandemTransport", "CZeroMQ",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Shared/TandemService"),
        // The router client the CLI and the benchmarks use.
        .target(name: "TandemClient", dependencies: ["TandemWire", "TandemTransport"], path: "Shared/TandemClient"),
        // Local stack: a private PostgreSQL cluster and supervised service processes.
        .target(name: "TandemStack", dependencies: ["TandemStore"], path: "Shared/TandemStack"),
        // SIMD kernels: quantized products, norms, RoPE, softmax, SiLU, and the compute pool.
        // Built with -O even in debug (a debug `swift test` would otherwise run them ~100× slower).
        .target(name: "TandemKernels", dependencies: ["CTandemKernels"], path: "Shared/TandemKernels", swiftSettings: kernelSettings),
        // The innermost quantized dot products in C (AVX2 `vpmaddubsw`): Swift measured ~3× the
        // instructions per block (docs/model-runtime.md).
        .target(name: "CTandemKernels", path: "Shared/CTandemKernels",
                cSettings: [.unsafeFlags(["-O3", "-mavx2", "-mfma", "-mf16c"])]),
        // The model runtime: GGUF reader, tokenizer, Llama forward pass, paged KV cache, sampling.
        .target(name: "TandemModel", dependencies: ["TandemKernels"], path: "Shared/TandemModel", swiftSettings: kernelSettings),
        // The `tandem` command's subcommands, in a library so tests can drive them.
        .target(name: "TandemCLI", dependencies: [
            "TandemClient", "TandemStack", "TandemStore", "TandemWire", "TandemModel", "TandemDiffusion", "TandemDecode",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Shared/TandemCLI"),

        // Diffusion render: safetensors, diffusers' UNet2DModel on CPU, ODE solvers, PNG output.
        // The AVX-512 matrix block, chosen at run time (a C function can target another CPU).
        .target(name: "CDiffusionKernels", path: "Shared/CDiffusionKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "TandemDiffusion", dependencies: ["CPNG", "CDiffusionKernels"], path: "Shared/TandemDiffusion",
                resources: [.copy("Resources/glyphs16")], swiftSettings: kernelSettings),

        .executableTarget(name: "TandemDiffusionBenchMain", dependencies: ["TandemDiffusion"], path: "Services/tandem-diffusion-bench",
                          swiftSettings: kernelSettings),
        // The `diffusion` service: render jobs on the glyph model, steps batched across requests.
        .target(name: "TandemRender", dependencies: ["TandemDiffusion", "TandemService"], path: "Shared/TandemRender"),
        .executableTarget(name: "TandemDiffusionMain", dependencies: [
            "TandemRender", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Services/tandem-diffusion"),
        .executableTarget(name: "TandemCLIMain", dependencies: ["TandemCLI"], path: "Services/tandem"),
        .executableTarget(name: "TandemRouterMain", dependencies: [
            "TandemRouter", "TandemDecode", "TandemModel", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Services/tandem-router"),
        .target(name: "TandemEcho", dependencies: ["TandemService"], path: "Shared/TandemEcho"),
        .executableTarget(name: "TandemEchoMain", dependencies: [
            "TandemEcho", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Services/tandem-echo"),
        // The `decode` service: the pure continuous-batching scheduler and the engine that runs it.
        .target(name: "TandemDecode", dependencies: [
            "TandemService", "TandemModel", "TandemClient", "TandemTransport", "TandemWire", "TandemRouter", "CZeroMQ",
            .product(name: "Logging", package: "swift-log"), .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Shared/TandemDecode"),
        .executableTarget(name: "TandemDecodeMain", dependencies: [
            "TandemDecode", "TandemService", "TandemClient", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Services/tandem-decode"),
        // The `prefill` service: computes prompts and ships their KV blocks to decode workers.
        .target(name: "TandemPrefill", dependencies: ["TandemDecode", "TandemService", "TandemModel", "TandemTransport"],
                path: "Shared/TandemPrefill"),
        .executableTarget(name: "TandemPrefillMain", dependencies: [
            "TandemPrefill", "TandemDecode", "TandemService", "TandemModel", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Services/tandem-prefill"),

        // The `draft` service: proposes draft tokens for decode workers' sequences over the data plane.
        .target(name: "TandemDraft", dependencies: ["TandemDecode", "TandemService", "TandemModel", "TandemTransport", "TandemWire",
                                                    .product(name: "Logging", package: "swift-log")],
                path: "Shared/TandemDraft"),
        .executableTarget(name: "TandemDraftMain", dependencies: [
            "TandemDraft", "TandemDecode", "TandemService", "TandemModel", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Services/tandem-draft"),

        .target(name: "TestSupport", dependencies: [
            "TandemStore", "TandemStack", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "TandemModelTests", dependencies: ["TandemModel", "TandemKernels"], path: "Tests/TandemModelTests",
                    exclude: ["Fixtures"], swiftSettings: kernelSettings),
        .testTarget(name: "TandemDecodeTests", dependencies: [
            "TandemDecode", "TandemDraft", "TandemModel", "TandemClient", "TandemWire", "TestSupport",
        ], path: "Tests/TandemDecodeTests"),
        .testTarget(name: "TandemWireTests", dependencies: ["TandemWire"], path: "Tests/TandemWireTests"),
        .testTarget(name: "TandemRouterTests", dependencies: ["TandemRouter", "TestSupport"], path: "Tests/TandemRouterTests"),
        .testTarget(name: "TandemStoreTests", dependencies: ["TandemStore", "TestSupport"], path: "Tests/TandemStoreTests"),
        .testTarget(name: "TandemStackTests", dependencies: ["TandemStack", "TestSupport"], path: "Tests/TandemStackTests"),
        .testTarget(name: "TandemDiffusionTests", dependencies: ["TandemDiffusion"], path: "Tests/TandemDiffusionTests",
                    resources: [.copy("Fixtures")], swiftSettings: kernelSettings),
        .testTarget(name: "TandemIntegrationTests", dependencies: [
            "TandemClient", "TandemWire", "TandemTransport", "TandemStore", "TestSupport", "CZeroMQ", "TandemDiffusion",
        ], path: "Tests/TandemIntegrationTests"),
    ],
    swiftLanguageModes: [.v6]
)
