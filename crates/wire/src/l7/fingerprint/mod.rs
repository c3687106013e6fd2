//! TLS fingerprints: JA3 and JA3S (Salesforce), and JA4 for TLS clients (FoxIO, BSD
//! 3-clause).
//!
//! JA4S, JA4H, JA4X, JA4SSH and the rest of JA4+ are under FoxIO's non-commercial licence
//! and deliberately not implemented.

mod inputs;
mod ja3;
mod ja4;

pub use inputs::client_inputs;
pub use ja3::{Ja3, ja3, ja3_string, ja3s, ja3s_string};
pub use ja4::{Ja4, Transport, ja4, ja4_r, offered_version};
