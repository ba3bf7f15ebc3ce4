// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6)
]

let package = Package(
    name: "qrscpd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "qrscpd", targets: ["qrscpd"]),
        .executable(name: "qrscpd-samples", targets: ["qrscpd-samples"]),
        .executable(name: "qrscpd-bench", targets: ["qrscpd-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Settings precedence (flags, environment, YAML file, defaults); YAML trait for the file.
        .package(url: "https://github.com/apple/swift-configuration", exact: "1.4.0", traits: ["YAML"]),
    ],
    targets: [
        // C surface: epoll, eventfd, timerfd, signalfd, sockets, libsystemd.
        .systemLibrary(
            name: "CLibsystemd",
            path: "Sources/CLibsystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "CSystemShims",
            dependencies: ["CLibsystemd"]
        ),
        // zlib's raw deflate, alone, so that DICOM links nothing else.
        .target(name: "CZlib", linkerSettings: [.linkedLibrary("z")]),
        // The one system-call helper, typed descriptors, file reads and the gathering write (libc only).
        .target(name: "SystemCalls", swiftSettings: swiftSettings),
        .target(name: "DICOM", dependencies: ["CZlib"], swiftSettings: swiftSettings),
        // OpenSSL 3 (Debian libssl-dev) for DICOM over TLS; COpenSSL wraps the macros Swift cannot call.
        .systemLibrary(
            name: "CLibssl",
            path: "Sources/CLibssl",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "COpenSSL", dependencies: ["CLibssl"]),
        // TLS contexts and non-blocking sessions over a socket, driven by the caller's readiness.
        .target(name: "TLS", dependencies: ["CLibssl", "COpenSSL"], swiftSettings: swiftSettings),
        // Part 10 files on disk: DICOMFile read from and written to a path.
        .target(name: "DICOMFiles", dependencies: ["DICOM", "SystemCalls"], swiftSettings: swiftSettings),
        .target(name: "DICOMNetwork", dependencies: ["DICOM"], swiftSettings: swiftSettings),
        .target(name: "Reactor", dependencies: ["CSystemShims", "SystemCalls"], swiftSettings: swiftSettings),
        // DICOM over TLS on the reactor: TLSSession as Reactor's second ByteTransport.
        .target(name: "TLSTransport", dependencies: ["TLS", "Reactor"], swiftSettings: swiftSettings),
        // HTTP/1.1 request parsing and response framing, pure (bytes in, events out), for DICOMweb.
        .target(name: "HTTP1", swiftSettings: swiftSettings),
        // application/dicom+json (PS3.18 Annex F) encoding of data sets, pure.
        .target(name: "DICOMJSON", dependencies: ["DICOM"], swiftSettings: swiftSettings),
        // DICOMweb pieces with no I/O: multipart/related, Accept negotiation, frame ranges, STOW responses.
        .target(name: "DICOMWeb", dependencies: ["DICOM", "DICOMJSON", "HTTP1"], swiftSettings: swiftSettings),
        // Prometheus text exposition format writer (for /metrics), pure.
        .target(name: "PrometheusText", swiftSettings: swiftSettings),
        .target(
            name: "Archive",
            dependencies: [
                "DICOM", "DICOMFiles", "SystemCalls", "CSystemShims", .product(name: "GRDB", package: "GRDB.swift"),
                // The C API, to copy column text without making Strings (IdentifierWriter).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // sd_notify, watchdog, socket activation and journald logging over CSystemShims.
        .target(
            name: "Systemd",
            dependencies: ["CSystemShims", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "QRServer",
            dependencies: [
                "DICOM", "DICOMNetwork", "Reactor", "Archive", "PrometheusText", "TLS", "TLSTransport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP/1.1 server on the reactor: route table, QIDO-RS, /metrics (docs/ARCHITECTURE.md).
        .target(
            name: "WebServer",
            dependencies: [
                "HTTP1", "DICOMJSON", "DICOMWeb", "PrometheusText", "Reactor", "Archive", "QRServer", "DICOM",
                "TLS", "TLSTransport", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The daemon's settings: command line, environment and YAML file, with precedence.
        .target(
            name: "DaemonSettings",
            dependencies: [
                "QRServer", "TLS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "qrscpd",
            dependencies: [
                "QRServer", "DaemonSettings", "Systemd", "Reactor", "Archive", "WebServer", "TLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "qrscpd-samples",
            dependencies: [
                "DICOM", "Archive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The benchmark's Verification client: fixed PDUs over blocking sockets.
        .executableTarget(
            name: "qrscpd-bench", dependencies: ["DICOM", "DICOMNetwork", "CLibssl"], swiftSettings: swiftSettings),
        // Helpers more than one test target uses (no test framework, no project module).
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        // The event loop's test helpers (a started loop, work run on it), for ReactorTests and TLSTests.
        .target(
            name: "ReactorTestSupport", dependencies: ["Reactor"], path: "Tests/ReactorTestSupport",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DICOMTests", dependencies: ["DICOM", "DICOMFiles", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "DICOMNetworkTests", dependencies: ["DICOMNetwork", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SystemCallsTests", dependencies: ["SystemCalls"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TLSTests", dependencies: ["TLS", "TLSTransport", "Reactor", "ReactorTestSupport", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PrometheusTextTests", dependencies: ["PrometheusText", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "DICOMJSONTests", dependencies: ["DICOMJSON", "DICOM", "DICOMFiles", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DICOMWebTests", dependencies: ["DICOMWeb", "DICOM", "DICOMFiles", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ReactorTests", dependencies: ["Reactor", "ReactorTestSupport", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive"], swiftSettings: swiftSettings),
        .testTarget(
            name: "QRServerTests",
            dependencies: [
                "QRServer", "Archive", "DICOM", "DICOMNetwork", "Reactor", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebServerTests", dependencies: ["WebServer", "HTTP1", "Archive", "DICOM"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DaemonSettingsTests", dependencies: ["DaemonSettings", "QRServer", "TLS", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "SystemdTests", dependencies: ["Systemd", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SamplesTests", dependencies: ["qrscpd-samples", "DICOM", "DICOMFiles"], swiftSettings: swiftSettings),
        .testTarget(
            name: "BenchClientTests", dependencies: ["qrscpd-bench", "DICOMNetwork"], swiftSettings: swiftSettings),
        .testTarget(
            name: "InteropTests", dependencies: ["DICOM", "DICOMFiles", "DICOMNetwork", "TestSupport"],
            exclude: ["Peers"], swiftSettings: swiftSettings),
    ]
)
