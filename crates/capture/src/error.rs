//! Errors of the capture subsystem.

/// Why capture could not start or a kernel operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The process lacks capabilities that loading and attaching BPF programs needs.
    #[error(
        "missing capabilities {missing}: run as root, or grant CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"
    )]
    MissingCapabilities {
        /// Names of the missing capabilities, comma-separated.
        missing: String,
    },
    /// The kernel exposes no BTF, which CO-RE programs and tp_btf hooks need.
    #[error(
        "kernel BTF not found at /sys/kernel/btf/vmlinux: flowsight needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.8 or later)"
    )]
    NoBtf,
    /// An interface named on the command line does not exist in this network namespace.
    #[error("unknown interface {0:?} (in this network namespace)")]
    UnknownInterface(String),
    /// An interface exists but carries frames flowsight cannot parse.
    #[error("interface {name:?} has link type {arphrd}, which flowsight does not parse")]
    UnsupportedInterface {
        /// Interface name.
        name: String,
        /// Its ARPHRD_* link type.
        arphrd: u16,
    },
    /// No interface to attach to.
    #[error("no interface is up to capture on")]
    NoInterfaces,
    /// Entering a network namespace failed.
    #[error("cannot enter network namespace {path}: {source}")]
    Netns {
        /// The namespace file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The BPF object could not be loaded (maps created, relocations applied).
    #[error("loading the BPF object failed: {0}")]
    Load(#[from] aya::EbpfError),
    /// A required program failed to load or attach; the message carries the verifier log.
    #[error("{what} failed: {detail}")]
    Required {
        /// Which program or attachment.
        what: String,
        /// The error, with the verifier log when there is one.
        detail: String,
    },
    /// A map operation failed.
    #[error("BPF map {map}: {source}")]
    Map {
        /// Map name.
        map: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// Some other OS-level failure.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}
