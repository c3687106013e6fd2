//! TLS fingerprints remembered by their input: a host's clients send the same few hellos
//! over and over (one browser build, one TLS library), so the MD5 of a JA3 string and the
//! SHA-256s of a JA4 are mostly computed already. On the synthetic capture the digests were
//! about a third of the TLS analyzer's cost.

use flowsight_wire::l7::fingerprint::{Ja3, Ja4};
use foldhash::HashMap;
use std::cell::RefCell;

/// Inputs remembered per kind and thread; at this many the memo starts again, so a flood
/// of unique hellos costs what it cost without one, and bounded memory.
const MAX: usize = 4096;

#[derive(Default)]
struct Memo {
    /// JA3 and JA3S strings to their MD5 (the two never collide: a JA3S string has three
    /// fields, a JA3 string five).
    md5: HashMap<String, String>,
    /// JA4 parts to the fingerprint.
    ja4: HashMap<Ja4, String>,
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

fn remembered<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, String>,
    key: &K,
    compute: impl FnOnce() -> String,
) -> String {
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

/// The JA3 (or JA3S) fingerprint of `text`.
pub(super) fn ja3(text: String) -> Ja3 {
    let hash = MEMO
        .with_borrow_mut(|m| remembered(&mut m.md5, &text, || Ja3::from_text(text.clone()).hash));
    Ja3 { text, hash }
}

/// The hashed JA4 fingerprint of `parts`.
pub(super) fn ja4(parts: &Ja4) -> String {
    MEMO.with_borrow_mut(|m| remembered(&mut m.ja4, parts, || parts.fingerprint()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_digests_are_the_digests() {
        for text in [
            "771,4865-4866,0-23,29,0",
            "771,49199,65281",
            "771,4865-4866,0-23,29,0",
        ] {
            assert_eq!(ja3(text.into()), Ja3::from_text(text.into()));
        }
        let parts = Ja4 {
            a: "t13d0202h2".into(),
            ciphers: "1301,1302".into(),
            extensions: "000a,000d_0403".into(),
        };
        assert_eq!(ja4(&parts), parts.fingerprint());
        assert_eq!(ja4(&parts), parts.fingerprint());
    }

    #[test]
    fn the_memo_is_bounded() {
        for i in 0..MAX + 10 {
            let text = format!("771,{i},0,29,0");
            assert_eq!(ja3(text.clone()), Ja3::from_text(text));
        }
        MEMO.with_borrow(|m| assert!(m.md5.len() <= MAX, "{}", m.md5.len()));
    }
}
