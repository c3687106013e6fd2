//! flowsight's host attribution: who is behind a local socket.
//!
//! The kernel side stamps every socket with the task that created, connected, accepted or
//! first used it ([`SocketStamp`]: pid, uid, gid, cgroup id, comm) and reports process exec,
//! fork and exit. This crate turns those numbers into the [`flowsight_record::Owner`] of a flow
//! end: the process with its full name, executable, arguments and start time
//! ([`ProcessTable`]), the user and group names ([`Users`]), the cgroup path and the
//! container it names ([`Cgroups`], [`container_from_cgroup_path`]). [`Host`] bundles them
//! behind one trait, [`OwnerSource`]. Sockets opened before flowsight started are found
//! through sock_diag and `/proc/*/fd` ([`sockdiag`]), and kept with the stamped ones in a
//! [`SocketTable`].
//!
//! Everything reads procfs and the cgroup2 file system under roots given at construction
//! ([`HostConfig`]), so tests run on fake trees as a normal user. Nothing here names aya or
//! the kernel ABI crate: the capture side decodes kernel events into the plain structs here.

mod cgroup;
mod clock;
pub mod conntrack;
mod container;
pub mod cri;
pub mod docker;
pub mod enrich;
mod host;
mod netlink;
mod netns;
mod process;
mod procfs;
pub mod sockdiag;
mod sockets;
mod users;

pub use cgroup::{CgroupError, CgroupStats, Cgroups, ProcCgroup, cgroup2_mount, cgroup2_mount_in};
pub use clock::Clocks;
pub use container::{QosClass, container_and_pod, container_from_cgroup_path, k8s_qos_class};
pub use host::{Host, HostConfig};
pub use netns::{NetnsCache, parse_ns_link, read_netns};
pub use process::{
    ExecEvent, ExitEvent, ForkEvent, ProcessInfo, ProcessLimits, ProcessSource, ProcessTable,
};
pub use procfs::{MAX_ARGS_BYTES, ProcfsError, basename, process_name};
pub use sockets::{SocketStamp, SocketTable, SocketTuple, StampOrigin};
pub use users::{Lookup, Users, nss_group_name, nss_user_name};

use flowsight_record::Owner;
use std::sync::Arc;

/// What the rest of flowsight asks of the host: the owner of a stamped socket, and what is
/// known of a process. [`Host`] is the implementation; tests of other crates can implement it
/// over a map.
pub trait OwnerSource {
    /// The owner of a socket stamped as `stamp`; None when the stamp names no process.
    fn owner(&mut self, stamp: &SocketStamp) -> Option<Owner>;

    /// What is known of process `tgid` (reading procfs if it is not in the table yet).
    fn process(&mut self, tgid: u32) -> Option<Arc<ProcessInfo>>;
}

#[cfg(test)]
mod test_support {
    //! Helpers shared by the tests.

    use std::path::PathBuf;

    /// True when running as root. Otherwise prints `SKIP (not root): <name>` and returns false,
    /// or panics when `FLOWSIGHT_REQUIRE_ROOT_TESTS=1` (CI runs as root and must not skip).
    pub fn root_or_skip(name: &str) -> bool {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            return true;
        }
        if std::env::var("FLOWSIGHT_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
            panic!("{name} needs root, and FLOWSIGHT_REQUIRE_ROOT_TESTS=1 forbids skipping it");
        }
        skip(&format!("SKIP (not root): {name}"));
        false
    }

    /// Print a skip notice straight to the process's stderr: `eprintln!` would be swallowed by
    /// the test harness's capture of passing tests, and a skip must be seen.
    pub fn skip(line: &str) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    /// Removes an (empty) directory on drop, such as a test's cgroup.
    pub struct RemoveDir(pub PathBuf);

    impl Drop for RemoveDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
}
