//! flowsight-wire: packet parsing, no I/O.
//!
//! Used by `flowsight read FILE.pcap` (offline flows and protocol logs) and by the live path
//! (payload bytes sampled in the kernel are parsed here with the [`l7`] parsers).
//!
//! # Layout
//! One module per protocol, modelled on smoltcp's `wire`:
//!
//! * link layers: [`link`] (pcap link types), [`ethernet`], [`sll`] (Linux cooked v1/v2),
//!   [`loopback`] (BSD null / OpenBSD loop), [`vlan`], [`mpls`], [`ppp`], [`pppoe`],
//!   [`chdlc`] (Cisco HDLC), [`nflog`] (Linux NFLOG);
//! * 802.11: [`ieee80211`] (MAC header of data frames), [`llc`] (LLC/SNAP), and the radio
//!   headers of monitor-mode captures, [`radiotap`] and [`prism`] (Prism and AVS);
//! * network: [`ipv4`], [`ipv6`] (with extension headers), [`ip`] (what both share);
//! * transport: [`tcp`], [`udp`], [`icmp`];
//! * tunnels: [`gre`] (with ERSPAN, Aruba's 802.11 encapsulation and PPTP), [`vxlan`],
//!   [`geneve`], [`gtp`] (GTP-U), [`teredo`], [`ayiya`], [`capwap`] (data channel);
//! * [`checksum`]: the internet checksum and the TCP/UDP pseudo-header;
//! * [`decode()`]: the one entry point that walks a whole frame down to L4;
//! * [`l7`]: HTTP/1.x, DNS and TLS parsers, QUIC Initial packets, and the JA3/JA4
//!   fingerprints.
//!
//! # The safety rule
//! Every header view is a `Packet<T: AsRef<[u8]>>` over borrowed (or owned) bytes. Its
//! `new_checked` validates the buffer once — length, version, header-length fields — and
//! after that no accessor can fail or panic: each reads only bytes that `new_checked` proved
//! present. `new_unchecked` skips the check and is meant for buffers already validated.
//! Field offsets live in a private `mod field` in each file.
//!
//! # Errors
//! Nothing here panics on bad input. Link, network, transport and tunnel parsers return a
//! [`DecodeError`] that says which layer rejected the bytes and why (`Truncated { layer,
//! needed, got }`, `BadVersion`, `BadHeaderLength`, ...); each L7 protocol has its own error
//! enum ([`l7::http::HttpError`], [`l7::dns::DnsError`], [`l7::tls::TlsError`],
//! [`l7::quic::QuicError`]).
//!
//! # Allocation
//! The packet path (every view and [`decode()`]) never allocates. The L7 parsers borrow from
//! the input too; only fingerprint strings, the TLS [`l7::tls::HandshakeCollector`], the
//! plaintext of a decrypted QUIC Initial packet and textual forms (`Display`) allocate.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ayiya;
mod bytes;
pub mod capwap;
pub mod chdlc;
pub mod checksum;
pub mod decode;
mod error;
pub mod ethernet;
pub mod geneve;
pub mod gre;
pub mod gtp;
pub mod icmp;
pub mod ieee80211;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod l7;
pub mod link;
pub mod llc;
pub mod loopback;
pub mod mpls;
pub mod nflog;
pub mod ppp;
pub mod pppoe;
pub mod prism;
pub mod radiotap;
pub mod sll;
pub mod tcp;
pub mod teredo;
pub mod udp;
pub mod vlan;
pub mod vxlan;

#[cfg(test)]
pub(crate) mod testutil;

pub use decode::{Decoded, Encap, Encaps, Fragment, IpInfo, L4, decode, decode_into};
pub use error::{DecodeError, Layer};
pub use ethernet::EtherType;
pub use ip::{IpProtocol, IpVersion};
pub use link::LinkType;
