//! `flowsight capture -w`: packets from the kernel, owners from the live pipeline.
//!
//! The pipeline of `flowsight live` runs as usual (events into the socket and process tables,
//! the flow map scanned and trimmed, records to `-o` when given); beside it the kernel sends
//! every packet to the packet ring. A packet is written once the events that were in the
//! kernel's event ring before it have been applied: packets are read first, then events, and
//! a packet waits [`HOLD`] before it is attributed, so the owner an accept(2) or a first send
//! stamps just after the packet still names it.

use super::CaptureConfig;
use super::out::{OutPacket, PacketOut};
use crate::cli::LiveConfig;
use crate::live::attribution::LiveAttribution;
use crate::live::pipeline::Pipeline;
use anyhow::{Context, Result};
use flowsight_abi::{PACKET_MAX, PacketHead, counter};
use flowsight_annotate::{PacketOwner, live::packet_owner};
use flowsight_capture::{LinkKind, netns};
use flowsight_flow::{Clock, kernel};
use flowsight_pcapfile::LinkType;
use flowsight_sink::{JsonLines, Sink, Tee};
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a packet waits for the owner events that may follow it.
const HOLD: Duration = Duration::from_millis(250);
/// How long a packet that `--container` does not match yet waits for its container's name,
/// when the runtime's API has been asked and not answered: as long as a record waits.
const NAME_HOLD: Duration = crate::live::hold::HOLD;
/// Packets held at most (memory bound under a flood; older ones are written early).
const MAX_HELD: usize = 100_000;
/// Bytes of held packets at most: at the default snap length 100,000 packets could be 3 GiB.
const MAX_HELD_BYTES: usize = 64 << 20;

/// A packet copied out of the ring, waiting for its owner.
struct Held {
    head: PacketHead,
    data: Vec<u8>,
    read_at: Instant,
}

/// The packets waiting for their owners, oldest first, and their bytes.
#[derive(Default)]
struct HeldQueue {
    packets: VecDeque<Held>,
    bytes: usize,
}

impl HeldQueue {
    fn push(&mut self, h: Held) {
        self.bytes += h.data.len();
        self.packets.push_back(h);
    }

    /// Whether more are held than the bounds allow.
    fn over(&self) -> bool {
        self.packets.len() > MAX_HELD || self.bytes > MAX_HELD_BYTES
    }

    /// The oldest packet, when it was read before `until` (None: any), or when more are held
    /// than the bounds allow.
    fn due(&self, until: Option<Instant>) -> Option<&Held> {
        let front = self.packets.front()?;
        if until.is_some_and(|t| front.read_at > t) && !self.over() {
            return None;
        }
        Some(front)
    }

    /// Take the oldest packet.
    fn pop(&mut self) -> Option<Held> {
        let h = self.packets.pop_front()?;
        self.bytes -= h.data.len();
        Some(h)
    }

    /// [`HeldQueue::due`], taken.
    #[cfg(test)]
    fn pop_due(&mut self, until: Option<Instant>) -> Option<Held> {
        self.due(until)?;
        self.pop()
    }
}

fn wait_readable(fds: [BorrowedFd<'_>; 3], timeout: Duration) {
    let mut pfds = fds.map(|fd| libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    });
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: three valid pollfds; EINTR (a signal) just ends the wait early.
    unsafe { libc::poll(pfds.as_mut_ptr(), 3, ms) };
}

/// What the kernel counted of the packet ring.
fn ring_counts(p: &Pipeline) -> Result<(u64, u64)> {
    let c = p
        .capture
        .counters()
        .context("reading the kernel counters")?;
    Ok((
        c[counter::FSIGHT_CNT_PACKETS as usize],
        c[counter::FSIGHT_CNT_LOST_PACKETS as usize],
    ))
}

/// Capture until a signal, `--duration`, `--count`, or an error.
pub fn run(cfg: &CaptureConfig, live: &LiveConfig) -> Result<()> {
    // setns(2) changes only the calling thread: enter before anything else starts.
    if let Some(ns) = &live.netns {
        netns::enter(ns)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing the signal handler")?;
    }
    let mut out = PacketOut::create(
        &cfg.write,
        cfg.owners.clone(),
        cfg.expression.as_deref(),
        None,
        cfg.count,
    )?;
    let sink: Box<dyn Sink> = match &live.output {
        crate::cli::Output::File(path) => Box::new(JsonLines::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        crate::cli::Output::Stdout => Box::new(Tee(Vec::new())),
    };
    let mut p = crate::live::start_pipeline(live, sink)?;
    // The ids of running containers named by --container, looked up by the pipeline: their
    // packets match from the first one on, before the names come with their owners.
    out.also_containers(&p.filter().containers);
    for line in p.degraded() {
        log::warn!("degraded: {line}");
    }
    let snaplen = cfg.snaplen.unwrap_or(PACKET_MAX);
    if snaplen > PACKET_MAX {
        log::warn!(
            "--snaplen {snaplen} is more than the kernel keeps: packets are cut at {PACKET_MAX}"
        );
    }
    let mut interfaces: HashMap<u32, (u32, LinkType)> = HashMap::new();
    let (first_packets, first_lost) = ring_counts(&p)?;
    let mut tap = p.capture.packet_tap(snaplen)?;
    for i in p.capture.interfaces() {
        let link = match i.link {
            LinkKind::Ip => LinkType::RAW,
            LinkKind::Ethernet | LinkKind::Loopback => LinkType::ETHERNET,
        };
        let id = out.add_interface(link, tap.snaplen(), Some(&i.name))?;
        interfaces.insert(i.index, (id, link));
    }
    log::info!(
        "capturing packets on {} to {}",
        p.capture
            .interfaces()
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        cfg.write.display()
    );

    let clock = Clock::monotonic();
    let mut held = HeldQueue::default();
    let mut unattributed = 0u64;
    let mut decode_errors = 0u64;
    let mut lost_seen = first_lost;
    let started = Instant::now();
    let mut next_scan = started + live.scan_interval;

    // Attribute and write the held packets read before `until`.
    let mut write_due = |p: &mut Pipeline,
                         held: &mut HeldQueue,
                         out: &mut PacketOut,
                         until: Option<Instant>|
     -> Result<()> {
        while let Some(front) = held.due(until) {
            let head = front.head;
            let Some(&(interface, link)) = interfaces.get(&head.ifindex) else {
                held.pop(); // an interface attached after start-up: none are
                continue;
            };
            if !out.expression_keeps(link, &front.data, head.len)? {
                held.pop();
                continue;
            }
            let mut owner = kernel::packet_flow(&head).and_then(|(key, sender, sockets)| {
                let mut a = LiveAttribution {
                    sockets: &p.sockets,
                    host: &mut p.host,
                    unattributed: &mut unattributed,
                };
                packet_owner(&key, sender, sockets, head.egress != 0, &mut a)
            });
            if out.wants_names()
                && let Some(o) = owner.as_mut()
            {
                let pending = o.container.as_ref().is_some_and(|c| p.host.name_pending(c));
                if !pending {
                    // Decided first, renamed after: an answer the check took in is used.
                    p.host.rename(o);
                } else if until.is_some()
                    && !held.over()
                    && front.read_at.elapsed() < NAME_HOLD
                    && !out.owner_keeps(Some(&PacketOwner::from(&*o)))
                {
                    // Not matched yet, its container's name on its way: it waits for it, and
                    // every later packet with it (the file keeps the order they were read in).
                    break;
                }
            }
            let Some(h) = held.pop() else { break };
            let owner = owner.as_ref().map(PacketOwner::from);
            let packet = OutPacket {
                interface,
                link,
                ts_ns: clock.wall(h.head.hdr.ts_ns).0,
                orig_len: h.head.len,
                data: &h.data,
                // epb_flags direction: 1 inbound, 2 outbound.
                flags: Some(if h.head.egress != 0 { 2 } else { 1 }),
            };
            out.write(&packet, owner.as_ref())?;
        }
        Ok(())
    };

    while !stop.load(Ordering::Relaxed) && !out.full() {
        if live.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let wake = next_scan.min(Instant::now() + HOLD / 2);
        wait_readable(
            [p.capture.events_fd(), p.capture.samples_fd(), tap.fd()],
            wake.saturating_duration_since(Instant::now()),
        );
        let now = Instant::now();
        // Packets first, then the events: every owner event the kernel wrote before a
        // packet is applied before that packet is attributed.
        tap.drain(|r| match r {
            Ok(pk) => held.push(Held {
                head: pk.head,
                data: pk.data.to_vec(),
                read_at: now,
            }),
            Err(e) => {
                decode_errors += 1;
                log::error!("undecodable packet record (ABI mismatch?): {e}");
            }
        });
        p.drain()?;
        write_due(&mut p, &mut held, &mut out, now.checked_sub(HOLD))?;
        if Instant::now() >= next_scan {
            p.scan()?;
            next_scan = Instant::now() + live.scan_interval;
            let (_, lost) = ring_counts(&p)?;
            if lost > lost_seen {
                log::warn!(
                    "{} packets lost: the packet ring was full (--packet-ring-size)",
                    lost - lost_seen
                );
                out.pending_drops += lost - lost_seen;
                lost_seen = lost;
            }
            out.flush()?;
            p.flush()?;
        }
    }

    // Stop the kernel sending, then write everything it sent.
    tap.stop()?;
    tap.drain(|r| {
        if let Ok(pk) = r {
            held.push(Held {
                head: pk.head,
                data: pk.data.to_vec(),
                read_at: Instant::now(),
            });
        }
    });
    p.drain()?;
    // Names still on their way: wait for them a little, as the record log does.
    let waited = Instant::now();
    crate::live::hold::wait_for_names(|| {
        write_due(&mut p, &mut held, &mut out, Some(waited))?;
        Ok(!held.packets.is_empty() && !out.full())
    })?;
    write_due(&mut p, &mut held, &mut out, None)?;
    out.flush()?;
    let (packets, lost) = ring_counts(&p)?;
    drop(tap);
    p.shutdown()?;
    let (sent, lost) = (packets - first_packets, lost - first_lost);
    eprintln!(
        "flowsight: {} packets written to {} ({} with a process), {} passed over by the filters, \
         {} lost by the kernel (packet ring full){}",
        out.written,
        cfg.write.display(),
        out.attributed,
        out.filtered,
        lost,
        if decode_errors > 0 {
            format!(", {decode_errors} undecodable")
        } else {
            String::new()
        }
    );
    log::info!("the kernel sent {sent} packets; {unattributed} local ends had no owner");
    if lost > 0 {
        log::warn!("{lost} packets were lost: raise --packet-ring-size or narrow -i");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(bytes: usize, read_at: Instant) -> Held {
        Held {
            // SAFETY: a C struct of integers and integer arrays; all zero is a valid value.
            head: unsafe { std::mem::zeroed() },
            data: vec![0; bytes],
            read_at,
        }
    }

    #[test]
    fn held_packets_wait_their_time_unless_they_take_too_much_memory() {
        let now = Instant::now();
        let before = now.checked_sub(Duration::from_secs(1)).unwrap();
        let mut q = HeldQueue::default();
        q.push(packet(100, now));
        assert!(q.pop_due(Some(before)).is_none(), "read after the cut");
        assert!(q.pop_due(None).is_some(), "at the end every packet goes");
        assert_eq!(q.bytes, 0);
        // Large packets: past the byte bound the oldest go early, down to the bound.
        let big = 32 << 10;
        for _ in 0..(MAX_HELD_BYTES / big + 10) {
            q.push(packet(big, now));
        }
        let mut early = 0;
        while q.pop_due(Some(before)).is_some() {
            early += 1;
        }
        assert_eq!(early, 10);
        assert!(q.bytes <= MAX_HELD_BYTES);
        assert!(q.packets.len() < MAX_HELD);
    }
}
