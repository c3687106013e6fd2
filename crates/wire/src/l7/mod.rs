//! Application-layer parsers: HTTP/1.x, DNS and TLS, and the JA3/JA4 TLS fingerprints.
//!
//! Each parser borrows from the bytes it is given and returns its own typed error.

pub mod dns;
pub mod fingerprint;
pub mod http;
pub mod tls;
