// swift-tools-version:6.1
import PackageDescription

// Every target builds in the Swift 6 language mode, so strict concurrency checking is on everywhere.
let package = Package(
    name: "llmq",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "llmq", targets: ["llmq"]),
        .library(name: "LLMQKafka", targets: ["LLMQKafka"]),
        .library(name: "LLMQCore", targets: ["LLMQCore"]),
        .library(name: "LLMQProviders", targets: ["LLMQProviders"]),
        .library(name: "LLMQMockLLM", targets: ["LLMQMockLLM"]),
        .library(name: "LLMQWorker", targets: ["LLMQWorker"]),
        .library(name: "LLMQTools", targets: ["LLMQTools"]),
        .library(name: "LLMQGateway", targets: ["LLMQGateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        // Tests only: TestClock for time-dependent code (retry delays, watchdog, coalescer).
        .package(url: "https://github.com/pointfreeco/swift-clocks.git", from: "1.1.1"),
    ],
    targets: [
        // librdkafka from the system (Debian: librdkafka-dev), never vendored.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // The only module that calls librdkafka.
        .target(
            name: "LLMQKafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // The message contract: jobs, chunk events, results, dead-letter headers. No Kafka, no HTTP.
        .target(name: "LLMQCore"),
        // SSE parsing, the Provider protocol, OpenAI and ERNIE providers, retry policy, timeouts.
        // Takes Core's job and usage types as they are.
        .target(
            name: "LLMQProviders",
            dependencies: [
                "LLMQCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The provider stand-in (`llmq mock-llm`): both wire formats, pacing and injected faults.
        .target(
            name: "LLMQMockLLM",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Admission, offset tracking, the job runner, the worker service, worker.conf.
        .target(
            name: "LLMQWorker",
            dependencies: [
                "LLMQKafka", "LLMQCore", "LLMQProviders",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // The HTTP gateway (`llmq gateway`): jobs and SSE over the topics, the OpenAI-compatible
        // endpoint, the web page, auth and limits.
        .target(
            name: "LLMQGateway",
            dependencies: [
                "LLMQWorker", "LLMQKafka", "LLMQCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // Operator and CLI tooling: enqueue, tail, dev, dead-letter list/replay, group status, progress.
        .target(
            name: "LLMQTools",
            dependencies: [
                "LLMQWorker", "LLMQKafka", "LLMQCore", "LLMQMockLLM", "LLMQGateway",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Drives real worker processes against an embedded cluster: the benchmark and the fault suite
        // (and the tests' process helpers).
        .target(
            name: "LLMQHarness",
            dependencies: [
                "LLMQKafka", "LLMQCore", "LLMQWorker", "LLMQTools", "LLMQMockLLM", "LLMQTesting", "LLMQProviders",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The CLI: parses arguments and wires the pieces above; nothing else.
        .executableTarget(
            name: "llmq",
            dependencies: [
                "LLMQWorker", "LLMQTools", "LLMQKafka", "LLMQMockLLM", "LLMQCore", "LLMQProviders", "LLMQHarness", "LLMQGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Seeded random, waiting on a condition with a deadline, unique names: no dependencies at all,
        // so a module's unit tests can use them without linking librdkafka, Hummingbird or HTTP.
        .target(name: "LLMQTesting"),
        // Test helpers shared by the integration tests: Kafka fixtures, the in-process and process testbeds.
        .target(
            name: "LLMQTestSupport",
            dependencies: [
                "LLMQKafka", "LLMQCore", "LLMQWorker", "LLMQTools", "LLMQMockLLM", "LLMQProviders", "LLMQHarness", "LLMQTesting", "LLMQGateway",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/LLMQTestSupport"
        ),
        .testTarget(name: "LLMQKafkaTests", dependencies: ["LLMQKafka", "LLMQTestSupport", "LLMQTesting"]),
        // Core's tests link nothing but Core: no librdkafka, no Hummingbird, no HTTP client.
        .testTarget(name: "LLMQCoreTests", dependencies: ["LLMQCore", "LLMQTesting"]),
        .testTarget(
            name: "LLMQProvidersTests",
            dependencies: [
                "LLMQProviders", "LLMQCore", "LLMQMockLLM", "LLMQTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Clocks", package: "swift-clocks"),
            ]
        ),
        .testTarget(
            name: "LLMQWorkerTests",
            dependencies: [
                "LLMQWorker", "LLMQTools", "LLMQKafka", "LLMQCore", "LLMQProviders", "LLMQMockLLM", "LLMQTestSupport", "LLMQHarness",
                "LLMQTesting",
                .product(name: "Clocks", package: "swift-clocks"),
            ]
        ),
        .testTarget(
            name: "LLMQGatewayTests",
            dependencies: [
                "LLMQGateway", "LLMQTools", "LLMQWorker", "LLMQKafka", "LLMQCore", "LLMQMockLLM", "LLMQProviders", "LLMQTestSupport", "LLMQHarness", "LLMQTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "LLMQToolsTests",
            dependencies: ["LLMQTools", "LLMQWorker", "LLMQKafka", "LLMQCore", "LLMQMockLLM", "LLMQTestSupport", "LLMQHarness", "LLMQTesting"]
        ),
    ]
)
