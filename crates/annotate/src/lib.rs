//! flowsight-annotate: what `flowsight capture` writes beside each packet, and which packets
//! it keeps.
//!
//! A captured packet gets the owner of its local endpoint ([`PacketOwner`]: pid, process
//! name, executable, arguments, user and container) and its flow's Community ID. The
//! [`Annotation`] turns them into a pcapng packet comment, which Wireshark and tshark show
//! (`frame.comment`), in the `Key: value` lines ptcpdump writes, and into custom options
//! (code 2988, flowsight's Private Enterprise Number) holding one `key=value` each, for
//! programs.
//!
//! Live, the owner comes from the same socket and process tables `flowsight live` uses
//! ([`live::packet_owner`] over a [`flowsight_flow::Attribution`]); for an existing capture,
//! from a `flowsight live` record log joined by Community ID and time ([`RecordIndex`]).
//!
//! Packets are selected by their owner ([`OwnerFilter`]: `--pid`, `--comm`, `--user`,
//! `--container`) and by a tcpdump filter expression ([`ExpressionFilter`]), which libpcap
//! compiles and runs, so an expression means exactly what it means to tcpdump.

mod comment;
mod error;
mod expression;
mod filter;
mod flowid;
pub mod live;
mod owner;
mod records;

pub use comment::{Annotation, MAX_OPTION_TEXT, epb_options};
pub use error::AnnotateError;
pub use expression::ExpressionFilter;
pub use filter::OwnerFilter;
pub use flowid::{PacketFlow, packet_flow};
pub use owner::{ContainerRef, PacketOwner};
pub use records::{RecordIndex, parse_rfc3339};
