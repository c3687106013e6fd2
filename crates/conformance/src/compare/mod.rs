//! The comparisons: one module per reference tool, each an explicit mapping from the tool's
//! fields to flowsight's, with its normalisation and exclusion rules written where applied.
//!
//! Records are paired the way the brief and the tools suggest: by connection (unordered
//! endpoints) plus order within the connection (the n-th HTTP request Zeek logged on a
//! connection against flowsight's n-th, both ordered by when the transaction began), with
//! the DNS message id added to the key where both sides have it.

pub mod ja4;
pub mod ndpi;
pub mod robustness;
pub mod tshark;
pub mod zeek;

use crate::fslog::Rec;
use std::collections::HashMap;
use std::hash::Hash;

/// A reference record paired with flowsight's record at the same key and position.
pub struct Pair<'r, 'f, R, F> {
    /// Text key for the disagreement list: the key and the 1-based position.
    pub key: String,
    /// The reference record.
    pub reference: &'r R,
    /// flowsight's record, if it has one at that position.
    pub flowsight: Option<&'f F>,
}

/// Pairs reference records with flowsight records that have the same key, in order.
///
/// `refs` are in the reference's order (the order of its log, which is the order the
/// transactions began); flowsight records are sorted by `@timestamp` then line. Only
/// flowsight records accepted by `eligible` take part (for example, only TLS records with a
/// ServerHello are paired with ServerHello rows). Returns the pairs and the number of eligible
/// flowsight records left over.
pub fn pair_in_order<'r, 'f, K, R, F>(
    refs: &'r [(K, R)],
    fs: &'f [Rec<F>],
    fs_key: impl Fn(&Rec<F>) -> Option<K>,
    eligible: impl Fn(&F) -> bool,
) -> (Vec<Pair<'r, 'f, R, F>>, u64)
where
    K: Hash + Eq + Clone + std::fmt::Display,
{
    let mut groups: HashMap<K, Vec<&'f Rec<F>>> = HashMap::new();
    for r in fs.iter().filter(|r| eligible(&r.body)) {
        if let Some(k) = fs_key(r) {
            groups.entry(k).or_default().push(r);
        }
    }
    for g in groups.values_mut() {
        g.sort_by_key(|r| (r.time, r.line));
    }
    let total: usize = groups.values().map(Vec::len).sum();
    let mut seen: HashMap<K, usize> = HashMap::new();
    let mut used = 0;
    let mut pairs = Vec::with_capacity(refs.len());
    for (k, r) in refs {
        let n = seen.entry(k.clone()).or_default();
        let f = groups.get(k).and_then(|g| g.get(*n)).map(|r| &r.body);
        if f.is_some() {
            used += 1;
        }
        *n += 1;
        pairs.push(Pair {
            key: format!("{k} #{n}"),
            reference: r,
            flowsight: f,
        });
    }
    (pairs, (total - used) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fslog::{Conn, Rec};
    use crate::key::{ConnKey, Endpoint};

    fn conn(port: u16) -> Conn {
        let ip = |s: &str| Endpoint::parse_ip(s).unwrap();
        Conn {
            proto: 6,
            src: Endpoint::new(ip("10.0.0.1"), port),
            dst: Endpoint::new(ip("10.0.0.2"), 80),
            vlan: None,
        }
    }

    #[test]
    fn pairs_by_key_then_order() {
        let fs = vec![
            Rec {
                conn: conn(1),
                time: 2,
                line: 0,
                body: "second",
            },
            Rec {
                conn: conn(1),
                time: 1,
                line: 1,
                body: "first",
            },
            Rec {
                conn: conn(2),
                time: 1,
                line: 2,
                body: "other",
            },
            Rec {
                conn: conn(3),
                time: 1,
                line: 3,
                body: "skipped",
            },
        ];
        let k1 = conn(1).key();
        let k9 = ConnKey::new(conn(9).src, conn(9).dst);
        let refs = vec![(k1, "a"), (k9, "b"), (k1, "c"), (k1, "d")];
        let (pairs, extra) = pair_in_order(&refs, &fs, |r| Some(r.conn.key()), |b| *b != "skipped");
        let got: Vec<_> = pairs
            .iter()
            .map(|p| (*p.reference, p.flowsight.copied()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Some("first")),
                ("b", None),
                ("c", Some("second")),
                ("d", None)
            ]
        );
        assert_eq!(pairs[2].key, format!("{k1} #2"));
        assert_eq!(extra, 1, "conn 2's record; conn 3's is not eligible");
    }
}
