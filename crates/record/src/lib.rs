//! flowsight's log schema.
//!
//! Every record flowsight writes is one of the types here, serialized as one JSON object per
//! line. Field names follow the Elastic Common Schema (ECS) where ECS has a name for the thing
//! (`source.ip`, `process.pid`, `network.community_id`), and are nested objects on the wire, so
//! `source.process.name` is `{"source":{"process":{"name":..}}}`. Fields that ECS lacks live
//! under the same parent with a name in ECS style and are marked "flowsight" in
//! `docs/schema.md`, which documents every field and is kept in step with these types by a test.
//!
//! The types are plain data: they are built by the flow table and the protocol analyzers and
//! consumed by the sinks. Nothing here does I/O.

mod conn;
mod dns;
mod flow;
mod http;
mod ip;
mod owner;
mod stats;
mod time;
mod tls;
mod weird;

pub use conn::{Conn, ConnNetwork, Peer};
pub use dns::{Dns, DnsAnswer, DnsQuestion, DnsRecord};
pub use flow::{
    EndReason, Endpoint, FlowEvent, FlowRecord, Interface, Nat, Network, NetworkType, Observation,
    ObservedEnd, TcpFlags, Transport, Vlan, iana_number,
};
pub use http::{Http, HttpBody, HttpRecord, HttpRequest, HttpResponse, ProtoEvent, Url, UserAgent};
pub use ip::{ip_string, push_ip};
pub use owner::{
    Cgroup, Container, ContainerImage, ContainerMeta, ContainerRuntime, Group, Netns, Orchestrator,
    OrchestratorResource, Owner, Process, User,
};
pub use stats::{BpfProgram, StatsFlows, StatsRecord, StatsSection};
pub use time::Timestamp;
pub use tls::{Tls, TlsClient, TlsRecord, TlsServer};
pub use weird::{Weird, WeirdRecord};

use serde::Serialize;

/// Any record flowsight writes. The JSON form carries the variant in the `type` field.
///
/// Records are handed to sinks one at a time and every kind is of similar, large size, so
/// boxing the variants would only add an allocation per record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record {
    /// A flow (connection) summary: see [`FlowRecord`].
    Flow(FlowRecord),
    /// flowsight's own counters: see [`StatsRecord`].
    Stats(StatsRecord),
    /// An HTTP transaction: see [`HttpRecord`].
    Http(HttpRecord),
    /// A DNS transaction: see [`DnsRecord`].
    Dns(DnsRecord),
    /// A TLS handshake: see [`TlsRecord`].
    Tls(TlsRecord),
    /// An anomaly: see [`WeirdRecord`].
    Weird(WeirdRecord),
}

impl Record {
    /// The value of the record's `type` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Flow(_) => "flow",
            Record::Stats(_) => "stats",
            Record::Http(_) => "http",
            Record::Dns(_) => "dns",
            Record::Tls(_) => "tls",
            Record::Weird(_) => "weird",
        }
    }

    /// The owners of the record's two ends, where known (none for stats records): the
    /// flow's endpoints', or the connection's of a protocol record.
    pub fn owners(&self) -> [Option<&Owner>; 2] {
        let conn = match self {
            Record::Stats(_) => return [None, None],
            Record::Flow(f) => return [f.source.owner.as_deref(), f.destination.owner.as_deref()],
            Record::Http(r) => Some(&r.conn),
            Record::Dns(r) => Some(&r.conn),
            Record::Tls(r) => Some(&r.conn),
            Record::Weird(r) => r.conn.as_ref(),
        };
        match conn {
            Some(c) => [c.source.owner.as_deref(), c.destination.owner.as_deref()],
            None => [None, None],
        }
    }

    /// [`Record::owners`], to change: names found after the record was made.
    pub fn owners_mut(&mut self) -> [Option<&mut Owner>; 2] {
        let conn = match self {
            Record::Stats(_) => return [None, None],
            Record::Flow(f) => {
                return [
                    f.source.owner.as_deref_mut(),
                    f.destination.owner.as_deref_mut(),
                ];
            }
            Record::Http(r) => Some(&mut r.conn),
            Record::Dns(r) => Some(&mut r.conn),
            Record::Tls(r) => Some(&mut r.conn),
            Record::Weird(r) => r.conn.as_mut(),
        };
        match conn {
            Some(c) => [
                c.source.owner.as_deref_mut(),
                c.destination.owner.as_deref_mut(),
            ],
            None => [None, None],
        }
    }

    /// One record of each kind with every optional field present. The schema test serializes
    /// these and checks that `docs/schema.md` documents exactly the fields that come out.
    pub fn examples() -> Vec<Record> {
        vec![
            Record::Flow(FlowRecord::example()),
            Record::Stats(StatsRecord::example()),
            Record::Http(HttpRecord::example()),
            Record::Dns(DnsRecord::example()),
            Record::Tls(TlsRecord::example()),
            Record::Weird(WeirdRecord::example()),
        ]
    }
}

impl From<FlowRecord> for Record {
    fn from(r: FlowRecord) -> Self {
        Record::Flow(r)
    }
}

macro_rules! into_record {
    ($($t:ident => $v:ident),*) => {$(
        impl From<$t> for Record {
            fn from(r: $t) -> Self {
                Record::$v(r)
            }
        }
    )*};
}
into_record!(HttpRecord => Http, DnsRecord => Dns, TlsRecord => Tls, WeirdRecord => Weird);

impl From<StatsRecord> for Record {
    fn from(r: StatsRecord) -> Self {
        Record::Stats(r)
    }
}
