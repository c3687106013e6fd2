//! Attaching the flow-counting programs to interfaces.
//!
//! On kernels from 6.6, TCX links: no qdisc, and the kernel detaches them when flowsight's
//! file descriptors close, however it exits. Before 6.6, cls_bpf filters on a clsact qdisc
//! through netlink: those OUTLIVE the process, so a start first removes filters that a killed
//! flowsight left behind (they carry flowsight's program names), and a normal exit removes its
//! own (aya detaches them on drop).

use crate::interfaces::{Interface, LinkKind};
use crate::names::*;
use crate::probes::{ProbeFailure, ProbeStatus, describe};
use aya::Ebpf;
use aya::programs::tc::{NlOptions, SchedClassifierLinkId, TcAttachOptions};
use aya::programs::{LinkOrder, SchedClassifier, TcAttachType, tc};
use std::collections::HashMap;

/// The TC attachments made, by interface index: what detaching an interface at run time
/// gives back to the kernel.
#[derive(Debug, Default)]
pub(crate) struct TcLinks(HashMap<u32, Vec<(&'static str, SchedClassifierLinkId)>>);

impl TcLinks {
    /// True when a program is attached to the interface.
    pub(crate) fn attached(&self, ifindex: u32) -> bool {
        self.0.get(&ifindex).is_some_and(|l| !l.is_empty())
    }
}

/// How TC programs are attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcMode {
    /// TCX where the kernel has it (6.6+), netlink otherwise.
    #[default]
    Auto,
    /// TCX links only.
    Tcx,
    /// Netlink cls_bpf on a clsact qdisc (the pre-6.6 way), even where TCX exists.
    Netlink,
}

const DIRECTIONS: [(TcAttachType, &str); 2] = [
    (TcAttachType::Ingress, "ingress"),
    (TcAttachType::Egress, "egress"),
];

fn programs_for(link: LinkKind) -> [&'static str; 2] {
    match link {
        LinkKind::Ethernet | LinkKind::Loopback => [PROG_TC_INGRESS, PROG_TC_EGRESS],
        LinkKind::Ip => [PROG_TC_INGRESS_L3, PROG_TC_EGRESS_L3],
    }
}

/// Whether this kernel has TCX (6.6 or later).
pub fn tcx_supported() -> bool {
    aya::util::KernelVersion::current().is_ok_and(|v| v >= aya::util::KernelVersion::new(6, 6, 0))
}

/// Load the four TC programs (verifier only, nothing attached yet).
pub(crate) fn load(ebpf: &mut Ebpf) -> Result<(), (&'static str, String)> {
    for name in [
        PROG_TC_INGRESS,
        PROG_TC_EGRESS,
        PROG_TC_INGRESS_L3,
        PROG_TC_EGRESS_L3,
    ] {
        let prog = ebpf
            .program_mut(name)
            .ok_or((name, "missing from the object".to_string()))?;
        let p: &mut SchedClassifier = prog.try_into().map_err(|e| (name, describe(&e)))?;
        p.load().map_err(|e| (name, describe(&e)))?;
    }
    Ok(())
}

/// Remove cls_bpf filters with flowsight's program names from an interface: leftovers of a
/// flowsight that was killed while attached through netlink.
fn remove_stale_filters(iface: &str) {
    for (dir, _) in DIRECTIONS {
        for name in [
            PROG_TC_INGRESS,
            PROG_TC_EGRESS,
            PROG_TC_INGRESS_L3,
            PROG_TC_EGRESS_L3,
        ] {
            match tc::qdisc_detach_program(iface, dir, name) {
                Ok(()) => log::warn!(
                    "removed a stale {name} filter from {iface} (an earlier flowsight did not exit cleanly)"
                ),
                Err(e) => log::debug!("no stale {name} on {iface}: {e}"),
            }
        }
    }
}

/// Attach both directions of an interface; one status per direction. The links made are
/// added to `links`.
pub(crate) fn attach(
    ebpf: &mut Ebpf,
    iface: &Interface,
    mode: TcMode,
    links: &mut TcLinks,
) -> Vec<ProbeStatus> {
    let netlink = match mode {
        TcMode::Auto => !tcx_supported(),
        TcMode::Tcx => false,
        TcMode::Netlink => true,
    };
    if netlink {
        remove_stale_filters(&iface.name);
        if let Err(e) = tc::qdisc_add_clsact(&iface.name) {
            // EEXIST: the qdisc is already there, which is fine.
            log::debug!("clsact on {}: {e}", iface.name);
        }
    }
    let progs = programs_for(iface.link);
    DIRECTIONS
        .iter()
        .zip(progs)
        // Loopback: every packet is seen at egress, receivers included; ingress would only
        // see each packet a second time.
        .filter(|((dir, _), _)| iface.link != LinkKind::Loopback || *dir == TcAttachType::Egress)
        .map(|(&(dir, dir_name), program)| {
            let outcome = (|| {
                let prog = ebpf
                    .program_mut(program)
                    .ok_or_else(|| "missing from the object".to_string())?;
                let p: &mut SchedClassifier = prog.try_into().map_err(|e| describe(&e))?;
                let options = if netlink {
                    TcAttachOptions::Netlink(NlOptions::default())
                } else {
                    // First: a monitor must see a packet before another program can drop or
                    // redirect it.
                    TcAttachOptions::TcxOrder(LinkOrder::first())
                };
                let id = p
                    .attach_with_options(&iface.name, dir, options)
                    .map_err(|e| describe(&e))?;
                links.0.entry(iface.index).or_default().push((program, id));
                Ok(())
            })();
            ProbeStatus {
                program,
                target: format!(
                    "{} {dir_name} ({})",
                    iface.name,
                    if netlink { "netlink" } else { "tcx" }
                ),
                outcome: outcome.map_err(|error| ProbeFailure {
                    error,
                    degraded: "no flows are counted on this interface and direction",
                }),
            }
        })
        .collect()
}

/// Detach every program attached to the interface with index `ifindex` (TCX links are
/// closed, netlink filters removed). Returns how many were attached; the first error, when
/// one fails, after trying them all.
pub(crate) fn detach(ebpf: &mut Ebpf, links: &mut TcLinks, ifindex: u32) -> Result<usize, String> {
    let taken = links.0.remove(&ifindex).unwrap_or_default();
    let n = taken.len();
    let mut first_err = None;
    for (program, id) in taken {
        let outcome = ebpf
            .program_mut(program)
            .ok_or_else(|| format!("{program} is missing from the object"))
            .and_then(|prog| {
                let p: &mut SchedClassifier = prog.try_into().map_err(|e| describe(&e))?;
                p.detach(id)
                    .map_err(|e| format!("{program}: {}", describe(&e)))
            });
        if let Err(e) = outcome {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(n), Err)
}
