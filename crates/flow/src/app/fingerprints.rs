//! TLS fingerprints remembered by their input: a host's clients send the same few hellos
//! over and over (one browser build, one TLS library), so a ClientHello's JA3 and JA4 are
//! mostly known already. A client's are remembered by the bytes they are made of
//! ([`client_inputs`]): on the synthetic capture, building the JA3 string and the JA4 lists
//! and hashing them were 20% of `flowsight read`'s instructions before.

use flowsight_wire::l7::fingerprint::{self, Ja3, client_inputs, ja3_string};
use flowsight_wire::l7::tls::ClientHello;
use foldhash::HashMap;
use std::cell::RefCell;

/// Inputs remembered per kind and thread; at this many the memo starts again, so a flood
/// of unique hellos costs what it cost without one, and bounded memory.
const MAX: usize = 4096;

#[derive(Default)]
struct Memo {
    /// JA3S strings to their MD5.
    md5: HashMap<String, String>,
    /// A ClientHello's fingerprint inputs to its fingerprints.
    client: HashMap<Vec<u8>, ClientPrints>,
    /// The inputs of the hello at hand (kept to reuse its memory).
    scratch: Vec<u8>,
}

/// A ClientHello's fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ClientPrints {
    /// JA3.
    pub(super) ja3: Ja3,
    /// JA4.
    pub(super) ja4: String,
}

impl ClientPrints {
    fn of(ch: &ClientHello<'_>, transport: fingerprint::Transport) -> ClientPrints {
        ClientPrints {
            ja3: Ja3::from_text(ja3_string(ch)),
            ja4: fingerprint::ja4(ch, transport).fingerprint(),
        }
    }
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// The value remembered for `key`, else `compute`'s, remembered (the map starting again at
/// [`MAX`] entries).
fn remembered<K: std::hash::Hash + Eq + Clone, V: Clone>(
    map: &mut HashMap<K, V>,
    key: &K,
    compute: impl FnOnce() -> V,
) -> V {
    if let Some(v) = map.get(key) {
        return v.clone();
    }
    let v = compute();
    if map.len() >= MAX {
        map.clear();
    }
    map.insert(key.clone(), v.clone());
    v
}

/// The JA3S fingerprint of `text` (a JA3S string).
pub(super) fn ja3s(text: String) -> Ja3 {
    let hash = MEMO
        .with_borrow_mut(|m| remembered(&mut m.md5, &text, || Ja3::from_text(text.clone()).hash));
    Ja3 { text, hash }
}

/// The JA3 and JA4 of a ClientHello seen over `transport`.
pub(super) fn client(ch: &ClientHello<'_>, transport: fingerprint::Transport) -> ClientPrints {
    MEMO.with_borrow_mut(|m| {
        let mut key = std::mem::take(&mut m.scratch);
        client_inputs(ch, transport, &mut key);
        let prints = remembered(&mut m.client, &key, || ClientPrints::of(ch, transport));
        m.scratch = key;
        prints
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_wire::l7::fingerprint::Transport;

    /// A ClientHello body: `version`, no session id, `ciphers`, null compression, and
    /// `exts` as (type, data).
    fn hello(version: u16, ciphers: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend_from_slice(&[7; 32]);
        b.push(0);
        b.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]);
        let mut e = Vec::new();
        for (t, d) in exts {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        b
    }

    fn u16s(prefix_len: usize, values: &[u16]) -> Vec<u8> {
        let body: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        let mut d = if prefix_len == 2 {
            (body.len() as u16).to_be_bytes().to_vec()
        } else {
            vec![body.len() as u8]
        };
        d.extend_from_slice(&body);
        d
    }

    fn alpn(names: &[&str]) -> Vec<u8> {
        let mut list = Vec::new();
        for n in names {
            list.push(n.len() as u8);
            list.extend_from_slice(n.as_bytes());
        }
        let mut d = (list.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&list);
        d
    }

    fn sni(name: &str) -> Vec<u8> {
        let mut entry = vec![0];
        entry.extend_from_slice(&(name.len() as u16).to_be_bytes());
        entry.extend_from_slice(name.as_bytes());
        let mut d = (entry.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&entry);
        d
    }

    /// Hellos that differ in one fingerprint input each (and some in what no fingerprint
    /// reads): the remembered prints are always the computed ones, whatever came before.
    #[test]
    fn remembered_prints_are_the_prints_of_each_hello() {
        let base = |v: u16, c: &[u16], groups: &[u16], alpns: &[&str], name: &str| {
            hello(
                v,
                c,
                &[
                    (0x0a0a, vec![]),
                    (0, sni(name)),
                    (10, u16s(2, groups)),
                    (11, vec![1, 0]),
                    (13, u16s(2, &[0x0403, 0x0804])),
                    (16, alpn(alpns)),
                    (43, u16s(1, &[0x1a1a, 0x0304, 0x0303])),
                ],
            )
        };
        let variants = [
            base(
                0x0303,
                &[0x1301, 0x1302],
                &[29, 23],
                &["h2", "http/1.1"],
                "a.example",
            ),
            // Another SNI name and GREASE cipher: the same prints.
            base(
                0x0303,
                &[0x2a2a, 0x1301, 0x1302],
                &[29, 23],
                &["h2", "http/1.1"],
                "b.example",
            ),
            base(
                0x0301,
                &[0x1301, 0x1302],
                &[29, 23],
                &["h2", "http/1.1"],
                "a.example",
            ),
            base(
                0x0303,
                &[0x1302, 0x1301],
                &[29, 23],
                &["h2", "http/1.1"],
                "a.example",
            ),
            base(
                0x0303,
                &[0x1301, 0x1302],
                &[23, 29],
                &["h2", "http/1.1"],
                "a.example",
            ),
            base(
                0x0303,
                &[0x1301, 0x1302],
                &[29, 23],
                &["http/1.1", "h2"],
                "a.example",
            ),
            base(0x0303, &[0x1301, 0x1302], &[29, 23], &["h3"], "a.example"),
            hello(0x0303, &[0x1301], &[(10, u16s(2, &[29]))]),
            hello(
                0x0303,
                &[0x1301],
                &[(10, u16s(2, &[29])), (43, u16s(1, &[0x0304]))],
            ),
            hello(0x0303, &[0x1301], &[]),
        ];
        let mut seen = Vec::new();
        for round in 0..2 {
            for (i, body) in variants.iter().enumerate() {
                let ch = ClientHello::parse(body).unwrap();
                for t in [Transport::Tcp, Transport::Quic] {
                    let got = client(&ch, t);
                    assert_eq!(
                        got,
                        ClientPrints::of(&ch, t),
                        "variant {i}, {t:?}, round {round}"
                    );
                    if round == 0 {
                        seen.push(got);
                    }
                }
            }
        }
        // Only the first two variants (SNI name and GREASE apart) share prints.
        for (i, a) in seen.iter().enumerate() {
            for (j, b) in seen.iter().enumerate().skip(i + 1) {
                assert_eq!(
                    a == b,
                    (i, j) == (0, 2) || (i, j) == (1, 3),
                    "{i} {j}: {a:?}"
                );
            }
        }
    }

    #[test]
    fn remembered_ja3s_is_the_digest() {
        for text in ["771,49199,65281", "771,4865,43-51", "771,49199,65281"] {
            assert_eq!(ja3s(text.into()), Ja3::from_text(text.into()));
        }
    }

    #[test]
    fn the_memo_is_bounded() {
        for i in 0..MAX + 10 {
            let text = format!("771,{i},65281");
            assert_eq!(ja3s(text.clone()), Ja3::from_text(text));
            let body = hello(0x0303, &[i as u16 | 0x100], &[]);
            let ch = ClientHello::parse(&body).unwrap();
            assert_eq!(
                client(&ch, Transport::Tcp),
                ClientPrints::of(&ch, Transport::Tcp)
            );
        }
        MEMO.with_borrow(|m| {
            assert!(m.md5.len() <= MAX, "{}", m.md5.len());
            assert!(m.client.len() <= MAX, "{}", m.client.len());
        });
    }
}
