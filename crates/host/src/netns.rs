//! Network namespace ids of processes, from `/proc/PID/ns/net`, cached.
//!
//! The kernel stamps every socket owner with the inode number of the socket's network
//! namespace (`net->ns.inum`), which is the id flowsight reports. When a stamp could not see it
//! (a socket found at start-up through sock_diag, an old kernel's hook), the owner's process's
//! namespace stands in: the target of `/proc/PID/ns/net` is `net:[INODE]`. That is read once
//! per process (keyed by pid and start time, so a reused pid is read again), never per flow.

use flowsight_record::Timestamp;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Processes remembered at most; the cache is emptied when full and refills on demand.
const CAPACITY: usize = 1 << 16;

/// The inode of a namespace link target such as `net:[4026531840]`.
pub fn parse_ns_link(target: &str, kind: &str) -> Option<u64> {
    target
        .strip_prefix(kind)?
        .strip_prefix(":[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The network namespace id of process `pid` (`self` for the caller), read from procfs.
pub fn read_netns(procfs: &Path, pid: &str) -> Option<u64> {
    let target = std::fs::read_link(procfs.join(pid).join("ns/net")).ok()?;
    parse_ns_link(target.to_str()?, "net")
}

/// Process -> network namespace id, read once per process.
#[derive(Debug)]
pub struct NetnsCache {
    procfs: PathBuf,
    by_process: HashMap<(u32, Option<Timestamp>), Option<u64>>,
}

impl NetnsCache {
    /// A cache reading `<procfs>/PID/ns/net`.
    pub fn new(procfs: impl Into<PathBuf>) -> NetnsCache {
        NetnsCache {
            procfs: procfs.into(),
            by_process: HashMap::new(),
        }
    }

    /// What is known of process `pid` without reading procfs (for a process that exited: its
    /// pid may already name another one there).
    pub fn cached(&self, pid: u32, start: Option<Timestamp>) -> Option<u64> {
        self.by_process.get(&(pid, start)).copied().flatten()
    }

    /// The namespace of process `pid` that started at `start` (None: unknown start).
    pub fn of(&mut self, pid: u32, start: Option<Timestamp>) -> Option<u64> {
        if let Some(&ns) = self.by_process.get(&(pid, start)) {
            return ns;
        }
        if self.by_process.len() >= CAPACITY {
            self.by_process.clear();
        }
        let ns = read_netns(&self.procfs, &pid.to_string());
        self.by_process.insert((pid, start), ns);
        ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespace_links() {
        assert_eq!(parse_ns_link("net:[4026531840]", "net"), Some(4026531840));
        assert_eq!(parse_ns_link("pid:[4026531836]", "net"), None);
        assert_eq!(parse_ns_link("net:[x]", "net"), None);
        assert_eq!(parse_ns_link("net:4026531840", "net"), None);
    }

    #[test]
    fn reads_this_process_and_caches_it() {
        let mine = read_netns(Path::new("/proc"), "self").expect("/proc/self/ns/net");
        let mut cache = NetnsCache::new("/proc");
        assert_eq!(cache.cached(std::process::id(), None), None);
        assert_eq!(cache.of(std::process::id(), None), Some(mine));
        assert_eq!(cache.by_process.len(), 1);
        assert_eq!(cache.cached(std::process::id(), None), Some(mine));
        assert_eq!(cache.of(std::process::id(), None), Some(mine));
        assert_eq!(cache.of(u32::MAX, None), None, "no such process");
    }

    #[test]
    fn a_fake_procfs_link_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("7/ns")).unwrap();
        std::os::unix::fs::symlink("net:[4026532001]", dir.path().join("7/ns/net")).unwrap();
        let mut cache = NetnsCache::new(dir.path());
        assert_eq!(cache.of(7, None), Some(4026532001));
    }
}
