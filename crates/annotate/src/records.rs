//! The join of a capture file with a `flowsight live` record log.
//!
//! A capture alone cannot say which process sent a packet; the record log of a `flowsight
//! live` run at the same time can: its flow records carry the owners of both ends. Packets
//! and records meet on `network.community_id`, and, since a 5-tuple may be reused, on time:
//! the record whose `event.start`..`event.end` is nearest to the packet wins.

use crate::{AnnotateError, PacketOwner};
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;
use std::net::IpAddr;

/// How far outside a record's first..last packet a packet may be and still belong to it: the
/// capture and the record log were taken by two programs, and `event.end` of a record
/// written at an active timeout is already past when the flow goes on.
const SLACK_NS: u64 = 120_000_000_000;

/// The owners of one flow record.
#[derive(Debug, Clone)]
struct FlowOwners {
    start_ns: u64,
    end_ns: u64,
    source: Option<(IpAddr, u16)>,
    source_owner: Option<PacketOwner>,
    destination_owner: Option<PacketOwner>,
}

/// The flow records of a log that name an owner, by Community ID.
#[derive(Debug, Default)]
pub struct RecordIndex {
    flows: HashMap<String, Vec<FlowOwners>>,
    records: usize,
}

/// Nanoseconds since the Unix epoch of an RFC 3339 UTC time as flowsight writes them
/// (`2026-12-02T07:55:26.123456789Z`; fewer fraction digits and none are accepted too).
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let rest = s.get(19..)?;
    let rest = rest.strip_suffix('Z')?;
    let nanos = match rest.strip_prefix('.') {
        None if rest.is_empty() => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|c| c.is_ascii_digit()) => {
            f.parse::<u64>().ok()? * 10u64.pow(9 - f.len() as u32)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(nanos)
}

fn endpoint(end: &Value) -> Option<(IpAddr, u16)> {
    let ip = end.get("ip")?.as_str()?.parse().ok()?;
    let port = u16::try_from(end.get("port")?.as_u64()?).ok()?;
    Some((ip, port))
}

impl RecordIndex {
    /// Read a record log (JSON lines, as `flowsight live -o FILE` writes); records other than
    /// flow records, and flow records without an owner, are passed over.
    pub fn load(path: &std::path::Path) -> Result<RecordIndex, AnnotateError> {
        let name = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|source| AnnotateError::Io {
            path: name.clone(),
            source,
        })?;
        RecordIndex::from_reader(std::io::BufReader::new(f), &name)
    }

    /// [`RecordIndex::load`] from any reader; `name` names it in errors.
    pub fn from_reader(r: impl BufRead, name: &str) -> Result<RecordIndex, AnnotateError> {
        let mut index = RecordIndex::default();
        for (i, line) in r.lines().enumerate() {
            let line = line.map_err(|source| AnnotateError::Io {
                path: name.to_string(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&line).map_err(|e| AnnotateError::BadRecord {
                path: name.to_string(),
                line: i + 1,
                message: e.to_string(),
            })?;
            index.add(&v);
        }
        Ok(index)
    }

    /// Index one record (anything but a flow record with a Community ID and an owner is
    /// passed over).
    pub fn add(&mut self, v: &Value) {
        let Some(id) = v.pointer("/network/community_id").and_then(Value::as_str) else {
            return;
        };
        let time = |p: &str| v.pointer(p).and_then(Value::as_str).and_then(parse_rfc3339);
        let (Some(start_ns), Some(end_ns)) = (time("/event/start"), time("/event/end")) else {
            return;
        };
        let owners = FlowOwners {
            start_ns,
            end_ns: end_ns.max(start_ns),
            source: v.get("source").and_then(endpoint),
            source_owner: v.get("source").and_then(PacketOwner::from_endpoint_json),
            destination_owner: v
                .get("destination")
                .and_then(PacketOwner::from_endpoint_json),
        };
        if owners.source_owner.is_none() && owners.destination_owner.is_none() {
            return;
        }
        self.records += 1;
        self.flows.entry(id.to_string()).or_default().push(owners);
    }

    /// Flow records with an owner that were indexed.
    pub fn len(&self) -> usize {
        self.records
    }

    /// True when no record named an owner.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The owner of a packet of flow `community_id` sent by `sender` at `ts_ns` (ns since the
    /// epoch): the sender's when the record names one, else the receiver's. `inbound` (the
    /// capture said the packet arrived: pcapng `epb_flags`) puts the receiver first, as live
    /// capture names the local end.
    pub fn owner(
        &self,
        community_id: &str,
        ts_ns: u64,
        sender: (IpAddr, u16),
        inbound: bool,
    ) -> Option<&PacketOwner> {
        let distance = |f: &FlowOwners| {
            if ts_ns < f.start_ns {
                f.start_ns - ts_ns
            } else {
                ts_ns.saturating_sub(f.end_ns)
            }
        };
        let f = self
            .flows
            .get(community_id)?
            .iter()
            .filter(|f| distance(f) <= SLACK_NS)
            .min_by_key(|f| distance(f))?;
        let (sent, received) = if f.source == Some(sender) {
            (&f.source_owner, &f.destination_owner)
        } else {
            (&f.destination_owner, &f.source_owner)
        };
        let (first, second) = if inbound {
            (received, sent)
        } else {
            (sent, received)
        };
        first.as_ref().or(second.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flowsight_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-12-02T07:55:26.123456789Z"),
            Some(1_796_198_126_123_456_789)
        );
        assert_eq!(
            parse_rfc3339("2000-03-01T00:00:01.5Z"),
            Some(951_868_801_500_000_000)
        );
        for bad in [
            "",
            "2026-12-02",
            "2026-13-02T00:00:00Z",
            "2026-12-02T00:00:00.Z",
            "2026-12-02T00:00:00+01:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn joins_by_community_id_time_and_sender() {
        let log = r#"{"event":{"kind":"event","start":"2026-01-01T00:00:10Z","end":"2026-01-01T00:00:20Z"},"network":{"community_id":"1:a"},"source":{"ip":"10.0.0.1","port":4000,"process":{"pid":5,"name":"curl"},"user":{"id":"0"}},"destination":{"ip":"10.0.0.2","port":80}}
{"event":{"start":"2026-01-01T01:00:00Z","end":"2026-01-01T01:00:01Z"},"network":{"community_id":"1:a"},"source":{"ip":"10.0.0.1","port":4000,"process":{"pid":6,"name":"wget"},"user":{"id":"0"}},"destination":{"ip":"10.0.0.2","port":80}}
{"event":{"start":"2026-01-01T00:00:10Z","end":"2026-01-01T00:00:20Z"},"network":{"community_id":"1:both"},"source":{"ip":"127.0.0.1","port":4000,"process":{"pid":7,"name":"client"},"user":{"id":"0"}},"destination":{"ip":"127.0.0.1","port":80,"process":{"pid":8,"name":"server"},"user":{"id":"0"}}}
{"event":{"start":"2026-01-01T00:00:10Z","end":"2026-01-01T00:00:20Z"},"network":{"community_id":"1:nobody"},"source":{"ip":"10.0.0.1","port":1}}

{"stats":{}}
"#;
        let idx = RecordIndex::from_reader(log.as_bytes(), "log").unwrap();
        assert_eq!(idx.len(), 3);
        let t = parse_rfc3339("2026-01-01T00:00:15Z").unwrap();
        let client = ("10.0.0.1".parse().unwrap(), 4000);
        let server = ("10.0.0.2".parse().unwrap(), 80);
        assert_eq!(idx.owner("1:a", t, client, false).unwrap().pid, 5);
        // The server is remote: its packets get the local client.
        assert_eq!(idx.owner("1:a", t, server, false).unwrap().pid, 5);
        assert_eq!(idx.owner("1:a", t, client, true).unwrap().pid, 5);
        // The reused 4-tuple an hour later is the other connection.
        let later = parse_rfc3339("2026-01-01T01:00:02Z").unwrap();
        assert_eq!(idx.owner("1:a", later, client, false).unwrap().pid, 6);
        assert!(
            idx.owner("1:a", t + 10_000 * 1_000_000_000, client, false)
                .is_none()
        );
        assert!(idx.owner("1:nobody", t, client, false).is_none());
        // Both ends local: the sender's, or with the direction known, the receiver's.
        let lo_client = ("127.0.0.1".parse().unwrap(), 4000);
        assert_eq!(idx.owner("1:both", t, lo_client, false).unwrap().pid, 7);
        assert_eq!(idx.owner("1:both", t, lo_client, true).unwrap().pid, 8);
        let e = RecordIndex::from_reader("{bad\n".as_bytes(), "log").unwrap_err();
        assert!(e.to_string().starts_with("log:1: not a JSON record"), "{e}");
    }
}
