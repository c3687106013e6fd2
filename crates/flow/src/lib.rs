//! flowsight's flow table.
//!
//! Flows are bidirectional and keyed canonically ([`FlowKey`]); the table keeps their
//! counters and decides when each needs a record ([`FlowTable::due`]); [`flow_record`] turns a
//! flow into its [`flowsight_record::FlowRecord`], deciding its direction and asking an
//! [`Attribution`] for the owners of its local ends. Pure: no I/O, no kernel.

pub mod app;
mod clock;
mod community_id;
pub mod defrag;
mod engine;
mod flow_store;
mod huge_pages;
pub mod icmp;
pub mod kernel;
mod key;
mod record;
pub mod stream;
mod table;

pub use clock::Clock;
pub use community_id::{community_id, community_id_seeded};
pub use engine::{AgeingClock, Duty, Engine, EngineConfig, EngineStats, FINISH_STEP, Sample};
pub use key::FlowKey;
pub use record::{Attribution, NoAttribution, Role, flow_record, initiator};
pub use table::{Due, Flow, FlowSlot, FlowTable, Initiator, Snapshot, SocketRef, Timeouts};
