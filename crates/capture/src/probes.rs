//! The attribution probes (everything but TC) and what is lost without each.
//!
//! Production kernels differ: a hook that loads here may not load there. Each probe is loaded
//! and attached on its own; a failure is reported with what it degrades, and capture goes on
//! with the rest. Only the TC programs are required (see `tc.rs`).

use crate::names::*;
use crate::preflight;
use aya::programs::{
    BtfTracePoint, CgroupAttachMode, CgroupSock, Program, ProgramError, TracePoint,
};
use aya::{Btf, Ebpf};
use std::fmt;
use std::path::Path;

/// Where a probe attaches.
#[derive(Debug, Clone, Copy)]
enum Hook {
    /// BTF-typed raw tracepoint (no tracefs needed).
    TpBtf(&'static str),
    /// Classic tracepoint (category, name), attached through tracefs.
    TracePoint(&'static str, &'static str),
    /// cgroup/sock_create on the cgroup2 root.
    CgroupSockCreate,
    /// cgroup/sock_release on the cgroup2 root.
    CgroupSockRelease,
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hook::TpBtf(tp) => write!(f, "tp_btf/{tp}"),
            Hook::TracePoint(c, n) => write!(f, "tracepoint/{c}/{n}"),
            Hook::CgroupSockCreate => write!(f, "cgroup/sock_create"),
            Hook::CgroupSockRelease => write!(f, "cgroup/sock_release"),
        }
    }
}

struct ProbeSpec {
    program: &'static str,
    hook: Hook,
    /// Attached only when asked for (it costs on a hot path and covers a rare case).
    opt_in: bool,
    /// What attribution loses when this probe is missing.
    without: &'static str,
}

const PROBES: &[ProbeSpec] = &[
    ProbeSpec {
        program: PROG_SOCK_CREATE,
        hook: Hook::CgroupSockCreate,
        opt_in: false,
        without: "sockets are not stamped at creation: UDP sockets that only receive are attributed only if they existed at start-up",
    },
    ProbeSpec {
        program: PROG_SOCK_RELEASE,
        hook: Hook::CgroupSockRelease,
        opt_in: false,
        without: "UDP socket closes are not seen: their owners are forgotten only when the owner table fills",
    },
    ProbeSpec {
        program: PROG_TCP_STATE,
        hook: Hook::TpBtf("inet_sock_set_state"),
        opt_in: false,
        without: "TCP connect() and passive opens are not stamped: clients are attributed at creation or first send; accepted sockets at first send/receive",
    },
    ProbeSpec {
        program: PROG_ACCEPT4,
        hook: Hook::TracePoint("syscalls", "sys_exit_accept4"),
        opt_in: false,
        without: "accept4() is not seen: accepted sockets are attributed at their first send or receive",
    },
    ProbeSpec {
        program: PROG_ACCEPT,
        hook: Hook::TracePoint("syscalls", "sys_exit_accept"),
        opt_in: false,
        without: "accept() is not seen: accepted sockets are attributed at their first send or receive",
    },
    ProbeSpec {
        program: PROG_SOCK_SEND,
        hook: Hook::TpBtf("sock_send_length"),
        opt_in: false,
        without: "first sends are not stamped: sockets handed between processes keep their creator",
    },
    ProbeSpec {
        program: PROG_SOCK_RECV,
        hook: Hook::TpBtf("sock_recv_length"),
        opt_in: true,
        without: "first receives are not stamped: a socket that only receives and was accepted without accept(2) (io_uring) has no owner",
    },
    ProbeSpec {
        program: PROG_PROC_EXEC,
        hook: Hook::TpBtf("sched_process_exec"),
        opt_in: false,
        without: "exec is not seen: a process that exits before /proc is read has no executable or arguments",
    },
    ProbeSpec {
        program: PROG_PROC_FORK,
        hook: Hook::TpBtf("sched_process_fork"),
        opt_in: false,
        without: "fork is not seen: short-lived forked children are named from their socket stamp only",
    },
    ProbeSpec {
        program: PROG_PROC_EXIT,
        hook: Hook::TpBtf("sched_process_exit"),
        opt_in: false,
        without: "exit is not seen: exited processes are noticed when /proc no longer has them",
    },
];

/// The outcome of loading and attaching one program to one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeStatus {
    /// Program name in the object.
    pub program: &'static str,
    /// Where it was attached (hook, or interface and direction).
    pub target: String,
    /// Ok, or the error and what it degrades.
    pub outcome: Result<(), ProbeFailure>,
}

/// Why a probe is missing and what that costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    /// The load or attach error (with the verifier log, when the verifier refused).
    pub error: String,
    /// What is degraded without the probe.
    pub degraded: &'static str,
}

/// A one-line rendering of an aya error chain.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn load_attach(
    ebpf: &mut Ebpf,
    spec: &ProbeSpec,
    btf: &Btf,
    tracefs: &Result<std::path::PathBuf, String>,
    cgroup2: Option<&Path>,
) -> Result<(), String> {
    let prog: &mut Program = ebpf
        .program_mut(spec.program)
        .ok_or_else(|| format!("program {} missing from the object", spec.program))?;
    let err = |e: ProgramError| describe(&e);
    match spec.hook {
        Hook::TpBtf(tp) => {
            let p: &mut BtfTracePoint = prog.try_into().map_err(err)?;
            p.load(tp, btf).map_err(err)?;
            p.attach().map_err(err)?;
        }
        Hook::TracePoint(category, name) => {
            if let Err(why) = tracefs {
                return Err(why.clone());
            }
            let p: &mut TracePoint = prog.try_into().map_err(err)?;
            p.load().map_err(err)?;
            p.attach(category, name).map_err(err)?;
        }
        Hook::CgroupSockCreate | Hook::CgroupSockRelease => {
            let root = cgroup2.ok_or("no cgroup2 hierarchy is mounted")?;
            let p: &mut CgroupSock = prog.try_into().map_err(err)?;
            p.load().map_err(err)?;
            let dir = std::fs::File::open(root).map_err(|e| format!("{}: {e}", root.display()))?;
            // flowsight must sit beside the programs systemd and container runtimes attach to
            // the same cgroups, never replace them. From 5.7 aya attaches through a bpf_link,
            // which always coexists and rejects any mode flag (EINVAL); before that the legacy
            // attach needs BPF_F_ALLOW_MULTI to coexist.
            let mode = if aya::util::KernelVersion::current()
                .is_ok_and(|v| v >= aya::util::KernelVersion::new(5, 7, 0))
            {
                CgroupAttachMode::Single
            } else {
                CgroupAttachMode::AllowMultiple
            };
            p.attach(dir, mode).map_err(err)?;
        }
    }
    Ok(())
}

/// Load and attach every attribution probe; one status per probe.
pub(crate) fn attach_all(ebpf: &mut Ebpf, btf: &Btf, opt_in: bool) -> Vec<ProbeStatus> {
    let needs_tracefs = PROBES
        .iter()
        .any(|p| matches!(p.hook, Hook::TracePoint(..)));
    let tracefs = if needs_tracefs {
        preflight::ensure_tracefs()
    } else {
        Err(String::new())
    };
    let cgroup2 = preflight::cgroup2_mount();
    PROBES
        .iter()
        .filter(|spec| opt_in || !spec.opt_in)
        .map(|spec| ProbeStatus {
            program: spec.program,
            target: spec.hook.to_string(),
            outcome: load_attach(ebpf, spec, btf, &tracefs, cgroup2.as_deref()).map_err(|error| {
                ProbeFailure {
                    error,
                    degraded: spec.without,
                }
            }),
        })
        .collect()
}
