//! `flowsight capture -r IN -w OUT`: annotate an existing capture.
//!
//! Every packet is copied byte for byte (captured bytes, length on the wire, time, and its
//! `epb_flags`), with its flow's Community ID and, when a `flowsight live` record log is given,
//! the owner its flow records name: the sender's, or the receiver's for a packet the input
//! marks inbound (as live capture names the local end).

use super::CaptureConfig;
use super::out::{OutPacket, PacketOut};
use anyhow::{Context, Result, bail};
use flowsight_annotate::{RecordIndex, packet_flow};
use flowsight_pcapfile::{CaptureReader, LinkType, ReadError, code};
use std::collections::HashMap;
use std::path::PathBuf;

/// Annotate `path` into `cfg.write`.
pub fn run(cfg: &CaptureConfig, path: &str, records: Option<&PathBuf>) -> Result<()> {
    let index = match records {
        Some(r) => {
            let index = RecordIndex::load(r)?;
            if index.is_empty() {
                log::warn!("{}: no flow record names a process", r.display());
            }
            Some(index)
        }
        None => None,
    };
    let mut out = PacketOut::create(
        &cfg.write,
        cfg.owners.clone(),
        cfg.expression.as_deref(),
        cfg.snaplen,
        cfg.count,
    )?;
    // Read, not mapped: every packet is copied out anyway, and a file cut shorter while
    // mapped would end the run with SIGBUS.
    let mut reader = CaptureReader::open_read(path).with_context(|| format!("reading {path}"))?;
    // Input interface -> output interface (added when first used: pcapng may describe
    // interfaces anywhere).
    let mut interfaces: HashMap<u32, u32> = HashMap::new();
    let mut data = Vec::new();
    while !out.full() {
        let (ts_ns, orig_len, link, interface, flags) = match reader.next_packet() {
            None => break,
            Some(Err(e @ ReadError::TruncatedRecord { .. })) => {
                log::warn!("{path}: {e}; the packets before it are written");
                break;
            }
            Some(Err(e)) => bail!("reading {path}: {e}"),
            Some(Ok(p)) => {
                data.clear();
                data.extend_from_slice(p.data);
                let flags = p.options.get(code::EPB_FLAGS).and_then(|o| o.as_u32());
                (p.ts_ns, p.orig_len, p.link, p.interface, flags)
            }
        };
        let id = match interfaces.get(&interface) {
            Some(&id) => id,
            None => {
                let info = reader.info().interfaces.get(interface as usize);
                let (snaplen, name) = info.map_or((0, None), |i| (i.snaplen, i.name.clone()));
                let snaplen = match cfg.snaplen {
                    Some(s) if snaplen == 0 || s < snaplen => s,
                    _ => snaplen,
                };
                let id = out.add_interface(LinkType(link.0), snaplen, name.as_deref())?;
                interfaces.insert(interface, id);
                id
            }
        };
        if !out.expression_keeps(link, &data, orig_len)? {
            continue;
        }
        let owner = index.as_ref().and_then(|idx| {
            let flow = packet_flow(link, &data)?;
            // epb_flags bits 0-1: 1 inbound.
            idx.owner(
                &flow.community_id,
                ts_ns,
                flow.src,
                flags.is_some_and(|f| f & 3 == 1),
            )
        });
        out.write(
            &OutPacket {
                interface: id,
                link,
                ts_ns,
                orig_len,
                data: &data,
                flags,
            },
            owner,
        )?;
    }
    out.flush()?;
    eprintln!(
        "flowsight: {} packets written to {} ({} with a process), {} passed over by the filters",
        out.written,
        cfg.write.display(),
        out.attributed,
        out.filtered
    );
    Ok(())
}
