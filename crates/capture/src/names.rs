//! Every program and map name in `bpf/flowsight.bpf.o`, once.
//!
//! A test (`tests/object.rs`) checks that each name here exists in the committed object and
//! that the object holds nothing this file does not name, so a rename on the C side fails the
//! build instead of a start-up on some user's host.

/// The ring buffer of socket and process events.
pub const MAP_EVENTS: &str = "fsight_events";
/// Per-CPU counters (`enum fsight_counter`).
pub const MAP_COUNTERS: &str = "fsight_counters";
/// The flow map.
pub const MAP_FLOWS: &str = "fsight_flows";
/// Owner stamps in socket storage (kernel-internal).
pub const MAP_SK_STAMPS: &str = "fsight_sk_stamps";
/// Passively opened sockets waiting for accept (kernel-internal).
pub const MAP_ACCEPTING: &str = "fsight_accepting";
/// First-fragment ports (kernel-internal).
pub const MAP_FRAGS: &str = "fsight_frags";

/// The ring buffer of payload samples.
pub const MAP_SAMPLES: &str = "fsight_samples";
/// Per-CPU space a sample is assembled in (kernel-internal).
pub const MAP_SAMPLE_SCRATCH: &str = "fsight_sample_scratch";
/// Flows that need no more samples (written by user space).
pub const MAP_SAMPLE_STOP: &str = "fsight_sample_stop";

/// The ring buffer of captured packets (`flowsight capture`).
pub const MAP_PACKETS: &str = "fsight_packets";
/// Per-CPU space a captured packet is assembled in (kernel-internal).
pub const MAP_PACKET_SCRATCH: &str = "fsight_packet_scratch";
/// Packet capture on/off and snap length (written by user space).
pub const MAP_CAPTURE_CFG: &str = "fsight_capture_cfg";

/// Every map in the object.
pub const MAPS: &[&str] = &[
    MAP_EVENTS,
    MAP_COUNTERS,
    MAP_FLOWS,
    MAP_SK_STAMPS,
    MAP_ACCEPTING,
    MAP_FRAGS,
    MAP_SAMPLES,
    MAP_SAMPLE_SCRATCH,
    MAP_SAMPLE_STOP,
    MAP_PACKETS,
    MAP_PACKET_SCRATCH,
    MAP_CAPTURE_CFG,
];

/// Global (`volatile const`): payload samples per flow and direction; 0 turns sampling off.
pub const GLOBAL_SAMPLE_PACKETS: &str = "fsight_cfg_sample_packets";

/// TC ingress on Ethernet devices and loopback.
pub const PROG_TC_INGRESS: &str = "fsight_tc_ingress";
/// TC egress on Ethernet devices and loopback.
pub const PROG_TC_EGRESS: &str = "fsight_tc_egress";
/// TC ingress on L3 devices (no link header).
pub const PROG_TC_INGRESS_L3: &str = "fsight_tc_ingress_l3";
/// TC egress on L3 devices.
pub const PROG_TC_EGRESS_L3: &str = "fsight_tc_egress_l3";
/// cgroup/sock_create: socket creator.
pub const PROG_SOCK_CREATE: &str = "fsight_sock_create";
/// cgroup/sock_release: a UDP socket's last close.
pub const PROG_SOCK_RELEASE: &str = "fsight_sock_release";
/// tp_btf/inet_sock_set_state: connect, passive open, close.
pub const PROG_TCP_STATE: &str = "fsight_tcp_state";
/// tracepoint syscalls/sys_exit_accept4.
pub const PROG_ACCEPT4: &str = "fsight_accept4_exit";
/// tracepoint syscalls/sys_exit_accept.
pub const PROG_ACCEPT: &str = "fsight_accept_exit_plain";
/// tp_btf/sock_send_length: first send.
pub const PROG_SOCK_SEND: &str = "fsight_sock_send";
/// tp_btf/sock_recv_length: first receive.
pub const PROG_SOCK_RECV: &str = "fsight_sock_recv";
/// tp_btf/sched_process_exec.
pub const PROG_PROC_EXEC: &str = "fsight_proc_exec";
/// tp_btf/sched_process_fork.
pub const PROG_PROC_FORK: &str = "fsight_proc_fork";
/// tp_btf/sched_process_exit.
pub const PROG_PROC_EXIT: &str = "fsight_proc_exit";

/// Every program in the object.
pub const PROGRAMS: &[&str] = &[
    PROG_TC_INGRESS,
    PROG_TC_EGRESS,
    PROG_TC_INGRESS_L3,
    PROG_TC_EGRESS_L3,
    PROG_SOCK_CREATE,
    PROG_SOCK_RELEASE,
    PROG_TCP_STATE,
    PROG_ACCEPT4,
    PROG_ACCEPT,
    PROG_SOCK_SEND,
    PROG_SOCK_RECV,
    PROG_PROC_EXEC,
    PROG_PROC_FORK,
    PROG_PROC_EXIT,
];
