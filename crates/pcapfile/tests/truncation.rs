//! Every cut of every valid fixture: no panic, every packet before the cut, then a typed
//! truncation error (or a clean end when the cut falls between records), then `None`.

mod common;

use common::{all_fixtures, read_bytes};
use flowsight_pcapfile::ReadError;

#[test]
fn every_truncation_point_keeps_the_packets_before_it() {
    let mut cuts = 0;
    for f in all_fixtures() {
        let header_end = f.boundaries[0].0;
        for cut in 0..=f.bytes.len() {
            cuts += 1;
            let what = format!("{} cut at {cut} of {}", f.name, f.bytes.len());
            let r = match read_bytes(&f.bytes[..cut]) {
                Ok(r) => r,
                Err(e) => {
                    assert!(cut < header_end, "{what}: header error {e}");
                    if cut == 0 {
                        assert!(matches!(e, ReadError::Empty { .. }), "{what}: {e}");
                    } else {
                        assert!(
                            matches!(e, ReadError::TruncatedHeader { .. }),
                            "{what}: {e}"
                        );
                    }
                    continue;
                }
            };
            let (before, at_boundary) = f.at_cut(cut);
            assert_eq!(r.packets[..], f.packets[..before], "{what}");
            if at_boundary {
                assert!(r.error.is_none(), "{what}: {:?}", r.error);
            } else {
                match r.error {
                    Some(ReadError::TruncatedRecord {
                        packet,
                        offset,
                        available,
                        ..
                    }) => {
                        assert_eq!(packet, before as u64 + 1, "{what}");
                        assert_eq!(offset + available, cut as u64, "{what}");
                    }
                    e => panic!("{what}: {e:?}"),
                }
            }
        }
    }
    assert!(cuts > 1000);
}
