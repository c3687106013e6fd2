//! Root tests: attachments never outlive flowsight, and faults are one clear line.

mod common;

use common::*;
use std::process::Command;

#[test]
fn peer_main() {
    common::peer_main();
}

fn filters(ns: &NetNs, dir: &str) -> String {
    ns.sh(&format!("tc filter show dev lo {dir}"))
}

#[test]
fn netlink_filters_left_by_a_killed_flowsight_are_removed_at_next_start() {
    if !root_or_skip("netlink_filters_left_by_a_killed_flowsight_are_removed_at_next_start") {
        return;
    }
    let ns = NetNs::new();
    let args = ["--netns", &ns.path(), "-i", "lo", "--tc-mode", "netlink"];
    let fs = Flowsight::start(&args);
    assert!(filters(&ns, "egress").contains("fsight_tc_egress"));
    fs.kill();
    // SIGKILL: cls_bpf filters outlive the process.
    assert!(
        filters(&ns, "egress").contains("fsight_tc_egress"),
        "stale filter expected after SIGKILL"
    );

    let fs = Flowsight::start(&args);
    let out = filters(&ns, "egress");
    assert_eq!(
        out.matches("fsight_tc_egress").count(),
        1,
        "the stale filter was replaced, not doubled: {out}"
    );
    fs.stop();
    assert!(
        !filters(&ns, "egress").contains("fsight"),
        "a clean exit removes its filters"
    );
    assert!(!filters(&ns, "ingress").contains("fsight"));
}

/// Ids of the TCX links a process holds, from its fdinfo (bpftool 7.1 cannot list TCX).
fn tcx_links_of(pid: u32) -> Vec<u32> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fdinfo")).unwrap() {
        let info = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        if field("link_type:").as_deref() == Some("tcx") {
            ids.push(field("link_id:").unwrap().parse().unwrap());
        }
    }
    ids
}

fn link_exists(id: u32) -> bool {
    Command::new("bpftool")
        .args(["link", "show", "id", &id.to_string()])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn tcx_links_die_with_the_process() {
    if !root_or_skip("tcx_links_die_with_the_process") {
        return;
    }
    let ns = NetNs::new();
    let fs = Flowsight::start(&["--netns", &ns.path(), "-i", "lo", "--tc-mode", "tcx"]);
    let links = tcx_links_of(fs.pid());
    // Loopback needs only egress: every packet, and its receiver, is seen there.
    assert_eq!(links.len(), 1, "egress on lo: {links:?}");
    assert!(links.iter().all(|&id| link_exists(id)));
    fs.kill();
    assert!(
        wait_for(std::time::Duration::from_secs(5), || links
            .iter()
            .all(|&id| !link_exists(id))),
        "TCX links {links:?} outlived a SIGKILLed flowsight"
    );
    assert!(
        !filters(&ns, "egress").contains("fsight"),
        "and no netlink filter either"
    );
}

#[test]
fn unknown_interface_is_one_clear_line() {
    if !root_or_skip("unknown_interface_is_one_clear_line") {
        return;
    }
    let out = Command::new(flowsight_bin())
        .args(["live", "-i", "nosuchif0", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("unknown interface \"nosuchif0\""), "{err}");
}

#[test]
fn missing_privileges_is_one_clear_line() {
    // Root drops to nobody to see what an unprivileged user sees; a normal user sees it as is.
    let mut cmd = Command::new(flowsight_bin());
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            flowsight_bin(),
        ]);
    }
    let out = cmd.args(["live", "--duration", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("missing capabilities CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN"),
        "{err}"
    );
}

#[test]
fn bad_flags_fail_before_anything_loads() {
    let out = Command::new(flowsight_bin())
        .args(["live", "--idle-timeout", "-3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--idle-timeout must be a positive number of seconds"),
        "{err}"
    );
    let out = Command::new(flowsight_bin())
        .args(["live", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "usage errors exit 2, as clap does"
    );
}

#[test]
fn check_reports_every_probe() {
    if !root_or_skip("check_reports_every_probe") {
        return;
    }
    let ns = NetNs::new();
    let out = Command::new(flowsight_bin())
        .args(["check", "--netns", &ns.path()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for hook in [
        "cgroup/sock_create",
        "tp_btf/inet_sock_set_state",
        "tracepoint/syscalls/sys_exit_accept4",
        "tp_btf/sched_process_exec",
        "lo egress (tcx)",
    ] {
        assert!(
            text.contains(&format!("ok        {hook}")),
            "{hook} in {text}"
        );
    }
    assert!(text.contains("everything loads: full attribution"));
}
