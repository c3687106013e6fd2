//! Entering a network namespace for the whole capture session.

use crate::CaptureError;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Move the calling thread into the network namespace at `ns` (a name under /run/netns, as
/// `ip netns` makes, or a path such as /proc/PID/ns/net).
///
/// Call it before any other thread starts: setns(2) changes only the calling thread, and
/// TC attachment, socket lookups and sock_diag then all see that namespace. Only the network
/// namespace changes: tracefs, bpffs and the cgroup2 mount stay visible, which is why this is
/// used instead of `ip netns exec` (which remounts /sys).
pub fn enter(ns: &str) -> Result<(), CaptureError> {
    let path = if ns.contains('/') {
        Path::new(ns).to_path_buf()
    } else {
        Path::new("/run/netns").join(ns)
    };
    let err = |source| CaptureError::Netns {
        path: path.display().to_string(),
        source,
    };
    let f = std::fs::File::open(&path).map_err(err)?;
    // SAFETY: f is an open namespace file for the duration of the call.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(err(std::io::Error::last_os_error()));
    }
    Ok(())
}
