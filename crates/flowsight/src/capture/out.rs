//! The annotated pcapng output both modes write through, with the filters and the counts.

use anyhow::{Context, Result};
use flowsight_annotate::{
    Annotation, ExpressionFilter, OwnerFilter, PacketOwner, epb_options, packet_flow,
};
use flowsight_pcapfile::{EnhancedPacket, EpbOption, InterfaceSpec, LinkType, PcapngWriter};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// One packet to write: where and when it was seen, and its bytes.
pub struct OutPacket<'a> {
    /// Interface id in the output (from [`PacketOut::add_interface`]).
    pub interface: u32,
    /// Its link type.
    pub link: LinkType,
    /// Nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Length on the wire.
    pub orig_len: u32,
    /// The bytes (cut to the snap length here).
    pub data: &'a [u8],
    /// `epb_flags` (direction), when known.
    pub flags: Option<u32>,
}

/// The pcapng file being written, the filters, and what was written or passed over.
pub struct PacketOut {
    w: PcapngWriter<BufWriter<Box<dyn Write>>>,
    path: PathBuf,
    owners: OwnerFilter,
    expression: Option<ExpressionFilter>,
    snaplen: Option<u32>,
    count: Option<u64>,
    /// Packets lost by the kernel since the last packet written (`epb_dropcount`).
    pub pending_drops: u64,
    /// Packets written.
    pub written: u64,
    /// Packets written with an owner.
    pub attributed: u64,
    /// Packets the filters passed over.
    pub filtered: u64,
}

impl PacketOut {
    /// Compile the expression (so a bad one fails before anything starts) and create the file.
    pub fn create(
        path: &Path,
        owners: OwnerFilter,
        expression: Option<&str>,
        snaplen: Option<u32>,
        count: Option<u64>,
    ) -> Result<PacketOut> {
        let expression = expression.map(ExpressionFilter::new).transpose()?;
        // `-w -`: standard output, for `flowsight capture -w - | wireshark -k -i -`.
        let file: Box<dyn Write> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(File::create(path).with_context(|| format!("creating {}", path.display()))?)
        };
        let w = PcapngWriter::new(BufWriter::with_capacity(1 << 20, file))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(PacketOut {
            w,
            path: path.to_path_buf(),
            owners,
            expression,
            snaplen,
            count,
            pending_drops: 0,
            written: 0,
            attributed: 0,
            filtered: 0,
        })
    }

    /// Whether `--container` values are given: one may be a name that a runtime's API gives
    /// some milliseconds after a new container's first packets.
    pub fn wants_names(&self) -> bool {
        !self.owners.containers.is_empty()
    }

    /// Whether the owner filters keep a packet of `owner`.
    pub fn owner_keeps(&self, owner: Option<&PacketOwner>) -> bool {
        self.owners.matches(owner)
    }

    /// Also keep the packets of these containers (ids, names or pod uids), when containers
    /// are filtered on at all: `--container` values the runtime's API resolved.
    pub fn also_containers(&mut self, containers: &[String]) {
        if self.owners.containers.is_empty() {
            return;
        }
        for c in containers {
            if !self.owners.containers.contains(c) {
                self.owners.containers.push(c.clone());
            }
        }
    }

    /// Describe an interface; returns its id for [`OutPacket::interface`].
    pub fn add_interface(
        &mut self,
        link: LinkType,
        snaplen: u32,
        name: Option<&str>,
    ) -> Result<u32> {
        self.w
            .add_interface(&InterfaceSpec {
                link,
                snaplen,
                name,
                description: None,
            })
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// True once `--count` packets were written.
    pub fn full(&self) -> bool {
        self.count.is_some_and(|c| self.written >= c)
    }

    /// Whether the expression keeps this packet (true without one).
    pub fn expression_keeps(&mut self, link: LinkType, data: &[u8], orig_len: u32) -> Result<bool> {
        let keep = match &mut self.expression {
            Some(f) => f.matches(link.0, data, orig_len)?,
            None => true,
        };
        if !keep {
            self.filtered += 1;
        }
        Ok(keep)
    }

    /// Write a packet the expression kept, annotated with `owner` and its flow, unless the
    /// owner filters pass it over or `--count` packets were written.
    pub fn write(&mut self, p: &OutPacket<'_>, owner: Option<&PacketOwner>) -> Result<()> {
        if self.full() {
            return Ok(());
        }
        if !self.owners.matches(owner) {
            self.filtered += 1;
            return Ok(());
        }
        let flow = packet_flow(p.link, p.data);
        let a = Annotation {
            owner,
            community_id: flow.as_ref().map(|f| f.community_id.as_str()),
        };
        let comment = a.comment();
        let kv = a.key_values();
        let mut extra = Vec::with_capacity(2);
        if let Some(f) = p.flags {
            extra.push(EpbOption::Flags(f));
        }
        if self.pending_drops > 0 {
            extra.push(EpbOption::DropCount(self.pending_drops));
        }
        let opts = epb_options(&comment, &kv, &extra);
        let data = match self.snaplen {
            Some(s) => &p.data[..p.data.len().min(s as usize)],
            None => p.data,
        };
        self.w
            .write_packet(&EnhancedPacket {
                interface: p.interface,
                ts_ns: p.ts_ns,
                orig_len: p.orig_len.max(data.len() as u32),
                data,
                options: &opts,
            })
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.pending_drops = 0;
        self.written += 1;
        if owner.is_some() {
            self.attributed += 1;
        }
        Ok(())
    }

    /// Push what was written to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.w
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(containers: &[&str]) -> PacketOut {
        let owners = OwnerFilter {
            containers: containers.iter().map(|c| c.to_string()).collect(),
            ..OwnerFilter::default()
        };
        PacketOut::create(Path::new("/dev/null"), owners, None, None, None).unwrap()
    }

    #[test]
    fn resolved_container_ids_widen_a_container_filter_only() {
        let mut o = out(&["web-1"]);
        o.also_containers(&["web-1".into(), "7dea796eb5d6".into()]);
        assert_eq!(o.owners.containers, ["web-1", "7dea796eb5d6"]);
        // No --container: the ids must not turn a filter on.
        let mut o = out(&[]);
        o.also_containers(&["7dea796eb5d6".into()]);
        assert!(o.owners.is_empty());
    }
}
