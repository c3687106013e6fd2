//! Application-layer parsers: HTTP/1.x, DNS, TLS and QUIC Initial packets (whose CRYPTO
//! frames carry a TLS handshake), and the JA3/JA4 TLS fingerprints.
//!
//! Each parser borrows from the bytes it is given and returns its own typed error.

pub mod dns;
pub mod fingerprint;
pub mod http;
pub mod quic;
pub mod tls;
