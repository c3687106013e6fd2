//! Helpers shared by the integration tests: fixture hex, the corpora location, and a
//! minimal pcap/pcapng reader (the crate itself does no I/O).

#![allow(dead_code)]

use flowsight_wire::LinkType;
use std::path::{Path, PathBuf};

/// Decodes lower-case or upper-case hex.
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Rows of a tab-separated fixture, `#` comment lines skipped.
pub fn tsv(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect()
}

/// The shared corpora (`shared/corpora` beside the repository, or `FLOWSIGHT_CORPORA`);
/// `None` prints a skip notice.
pub fn corpora(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("FLOWSIGHT_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP (no corpora at {}): {test}", dir.display());
        None
    }
}

/// Every file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// One captured frame.
pub struct Frame {
    /// 1-based frame number, as tshark counts.
    pub number: usize,
    /// The link type of the interface it was captured on.
    pub link: LinkType,
    /// The captured bytes.
    pub data: Vec<u8>,
}

/// Reads a classic pcap or a pcapng file, gzipped or not; `None` when it is neither.
/// Truncated files yield the frames before the cut.
pub fn read_capture(path: &Path) -> Option<Vec<Frame>> {
    let mut b = std::fs::read(path).ok()?;
    if b.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&b[..])
            .read_to_end(&mut out)
            .ok()?;
        b = out;
    }
    if b.len() < 24 {
        return None;
    }
    match &b[..4] {
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => Some(pcap(&b, true)),
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => Some(pcap(&b, false)),
        [0x0a, 0x0d, 0x0d, 0x0a] => Some(pcapng(&b)),
        _ => None,
    }
}

fn u16_at(b: &[u8], at: usize, be: bool) -> u16 {
    let x = [b[at], b[at + 1]];
    if be {
        u16::from_be_bytes(x)
    } else {
        u16::from_le_bytes(x)
    }
}

fn u32_at(b: &[u8], at: usize, be: bool) -> u32 {
    let x = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if be {
        u32::from_be_bytes(x)
    } else {
        u32::from_le_bytes(x)
    }
}

fn pcap(b: &[u8], be: bool) -> Vec<Frame> {
    let link = LinkType::from_dlt(u32_at(b, 20, be) & 0x03ff_ffff);
    let mut frames = Vec::new();
    let mut pos = 24;
    while pos + 16 <= b.len() {
        let caplen = u32_at(b, pos + 8, be) as usize;
        let start = pos + 16;
        let Some(data) = b.get(start..start + caplen) else {
            break;
        };
        frames.push(Frame {
            number: frames.len() + 1,
            link,
            data: data.to_vec(),
        });
        pos = start + caplen;
    }
    frames
}

fn pcapng(b: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut links: Vec<LinkType> = Vec::new();
    let mut be = false;
    let mut pos = 0;
    while pos + 12 <= b.len() {
        let block_type_le = u32::from_le_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]]);
        if block_type_le == 0x0a0d_0d0a {
            // Section header: byte-order magic decides the endianness of the section.
            be = b[pos + 8..pos + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
            links.clear();
        }
        let block_type = u32_at(b, pos, be);
        let len = u32_at(b, pos + 4, be) as usize;
        if len < 12 || pos + len > b.len() {
            break;
        }
        let body = &b[pos + 8..pos + len - 4];
        match block_type {
            1 if body.len() >= 2 => links.push(LinkType::from_dlt(u32::from(u16_at(body, 0, be)))),
            6 if body.len() >= 20 => {
                let iface = u32_at(body, 0, be) as usize;
                let caplen = u32_at(body, 12, be) as usize;
                if let (Some(&link), Some(data)) = (links.get(iface), body.get(20..20 + caplen)) {
                    frames.push(Frame {
                        number: frames.len() + 1,
                        link,
                        data: data.to_vec(),
                    });
                }
            }
            3 if body.len() >= 4 => {
                let orig = u32_at(body, 0, be) as usize;
                let data = &body[4..body.len().min(4 + orig)];
                if let Some(&link) = links.first() {
                    frames.push(Frame {
                        number: frames.len() + 1,
                        link,
                        data: data.to_vec(),
                    });
                }
            }
            2 if body.len() >= 20 => {
                let iface = usize::from(u16_at(body, 0, be));
                let caplen = u32_at(body, 12, be) as usize;
                if let (Some(&link), Some(data)) = (links.get(iface), body.get(20..20 + caplen)) {
                    frames.push(Frame {
                        number: frames.len() + 1,
                        link,
                        data: data.to_vec(),
                    });
                }
            }
            _ => {}
        }
        pos += len;
    }
    frames
}
