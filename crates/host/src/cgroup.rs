//! cgroup ids to cgroup paths, and the containers they name.
//!
//! The kernel stamps sockets and processes with a cgroup v2 id (`bpf_get_current_cgroup_id`):
//! the inode number of the cgroup's directory in the cgroup2 file system. [`Cgroups`] turns
//! ids into paths below the cgroup2 mount (`/system.slice/docker-<id>.scope`), and paths into
//! the containers they name, caching both.
//!
//! An id not yet known is looked up in two ways. With CAP_DAC_READ_SEARCH (flowsight runs as
//! root) the id is also a file handle: `open_by_handle_at` opens the cgroup directly and
//! `/proc/self/fd` names it, one syscall pair per new cgroup however large the hierarchy, and a
//! definite "no such cgroup" (ESTALE) for ids of cgroups already removed. Without it, the
//! hierarchy is walked; a walk costs one `getdents` per cgroup, so at most one walk runs per
//! rescan interval, and a storm of unknown ids costs one walk, not one each.
//!
//! The cgroup2 mount is found in `/proc/self/mountinfo` (the first `cgroup2` file system):
//! `/sys/fs/cgroup` on a pure v2 host, `/sys/fs/cgroup/unified` on a hybrid one. Paths are as
//! the mount shows them; flowsight in a cgroup namespace of its own sees paths relative to
//! that namespace's root, as `/proc/PID/cgroup` does.

use crate::container::container_and_pod;
use flowsight_record::{Container, Orchestrator};
use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Cache entries at most: far above the cgroups of a busy node (a few thousand), so the cache
/// only fills when cgroups churn; it is then emptied and refills on demand.
const DEFAULT_CAPACITY: usize = 1 << 16;
/// Depth at which a hierarchy walk stops descending (the kernel's default has no limit; real
/// hierarchies are under 15 deep), so a pathological tree cannot make a walk unbounded.
const MAX_WALK_DEPTH: usize = 64;
/// `statfs` magic of the cgroup2 file system.
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
/// File handle type of kernfs (cgroup2) objects: the handle is the 64-bit node id.
const FILEID_KERNFS: i32 = 0xfe;

/// Errors finding the cgroup2 mount.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// The mount table could not be read.
    #[error("reading {path}: {source}")]
    MountInfo {
        /// The mountinfo file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// No cgroup2 file system is mounted (a pure cgroup v1 host): cgroup ids cannot be named.
    #[error("no cgroup2 file system in {0}")]
    NoCgroup2(PathBuf),
}

/// The first cgroup2 mount point in a mountinfo table (`/proc/self/mountinfo` format).
pub fn cgroup2_mount_in(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        // id parent major:minor root mount-point options [optional...] - fstype source super
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        Some(PathBuf::from(unescape_octal(
            left.split_whitespace().nth(4)?,
        )))
    })
}

/// The cgroup2 mount point of this process's mount namespace, from `<procfs>/self/mountinfo`.
pub fn cgroup2_mount(procfs: &Path) -> Result<PathBuf, CgroupError> {
    let path = procfs.join("self/mountinfo");
    let text = std::fs::read_to_string(&path).map_err(|source| CgroupError::MountInfo {
        path: path.clone(),
        source,
    })?;
    cgroup2_mount_in(&text).ok_or(CgroupError::NoCgroup2(path))
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cgroup lines of `/proc/PID/cgroup`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcCgroup {
    /// The cgroup v2 path (the `0::` line), when the unified hierarchy is mounted.
    pub unified: Option<String>,
    /// The cgroup v1 paths, one per hierarchy, with that hierarchy's controllers
    /// (`memory`, `name=systemd`).
    pub v1: Vec<(String, String)>,
}

impl ProcCgroup {
    /// Parse the text of `/proc/PID/cgroup` (`hierarchy-id:controllers:path` lines).
    pub fn parse(text: &str) -> ProcCgroup {
        let mut out = ProcCgroup::default();
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(id), Some(controllers), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if id == "0" && controllers.is_empty() {
                out.unified = Some(path.to_string());
            } else {
                out.v1.push((controllers.to_string(), path.to_string()));
            }
        }
        out
    }
}

/// What is cached for one cgroup path.
#[derive(Debug, Clone)]
struct PathEntry {
    /// The cgroup id, when it was looked up (a path from /proc whose directory was never
    /// stat'ed has none yet).
    id: Option<u64>,
    /// The container the path names, parsed once and shared by every owner in it.
    container: Option<Arc<Container>>,
    /// The container's Kubernetes pod, parsed with it.
    orchestrator: Option<Arc<Orchestrator>>,
}

/// Whether `open_by_handle_at` works here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handles {
    /// Not tried yet.
    Untried,
    /// Works: ESTALE means the cgroup is gone.
    Works,
    /// Not available (no CAP_DAC_READ_SEARCH, not a cgroup2 mount): walk instead.
    Unavailable,
}

/// Counters, for the stats record and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// Hierarchy walks done.
    pub rescans: u64,
    /// Ids found through `open_by_handle_at`.
    pub handle_lookups: u64,
    /// Ids looked up and not found.
    pub misses: u64,
}

/// cgroup id <-> path resolver with a cache; see the module docs.
#[derive(Debug)]
pub struct Cgroups {
    procfs: PathBuf,
    root: Option<PathBuf>,
    root_fd: Option<OwnedFd>,
    handles: Handles,
    by_id: HashMap<u64, Arc<str>>,
    by_path: HashMap<Arc<str>, PathEntry>,
    capacity: usize,
    rescan_interval: Duration,
    last_rescan: Option<Instant>,
    stats: CgroupStats,
}

impl Cgroups {
    /// A resolver for the cgroup2 hierarchy mounted at `root` (None: ids are never named, paths
    /// from /proc still give containers), reading `/proc/PID/cgroup` below `procfs`, walking
    /// the hierarchy at most once per `rescan_interval`.
    pub fn new(
        procfs: impl Into<PathBuf>,
        root: Option<PathBuf>,
        rescan_interval: Duration,
    ) -> Cgroups {
        Cgroups {
            procfs: procfs.into(),
            root,
            root_fd: None,
            handles: Handles::Untried,
            by_id: HashMap::new(),
            by_path: HashMap::new(),
            capacity: DEFAULT_CAPACITY,
            rescan_interval,
            last_rescan: None,
            stats: CgroupStats::default(),
        }
    }

    /// Cap the cache at `capacity` paths (default 65,536).
    pub fn with_capacity(mut self, capacity: usize) -> Cgroups {
        self.capacity = capacity.max(1);
        self
    }

    /// The cgroup2 mount point, when there is one.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// Counters since creation.
    pub fn stats(&self) -> CgroupStats {
        self.stats
    }

    /// Paths cached.
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// The path below the mount (starting with `/`) of the cgroup with this id. Id 0 (the
    /// kernel could not tell) is never resolved.
    pub fn path_of_id(&mut self, id: u64) -> Option<Arc<str>> {
        if id == 0 {
            return None;
        }
        if let Some(path) = self.by_id.get(&id) {
            return Some(Arc::clone(path));
        }
        self.root.as_ref()?;
        match self.lookup_by_handle(id) {
            Ok(Some(path)) => {
                self.stats.handle_lookups += 1;
                return Some(self.insert(&path, Some(id)));
            }
            Ok(None) => {
                // The kernel says no such cgroup: a walk would not find it either.
                self.stats.misses += 1;
                return None;
            }
            Err(()) => {}
        }
        if self
            .last_rescan
            .is_none_or(|t| t.elapsed() >= self.rescan_interval)
        {
            self.rescan();
            if let Some(path) = self.by_id.get(&id) {
                return Some(Arc::clone(path));
            }
        }
        self.stats.misses += 1;
        None
    }

    /// The container the cgroup with this id belongs to.
    pub fn container_of_id(&mut self, id: u64) -> Option<Arc<Container>> {
        let path = self.path_of_id(id)?;
        self.by_path.get(&path)?.container.clone()
    }

    /// The container a cgroup path names (parsed once per path, then shared).
    pub fn container_of_path(&mut self, path: &str) -> Option<Arc<Container>> {
        if let Some(e) = self.by_path.get(path) {
            return e.container.clone();
        }
        let path = self.insert(path, None);
        self.by_path.get(&path)?.container.clone()
    }

    /// The Kubernetes pod of the container a cgroup path names (parsed once per path).
    pub fn orchestrator_of_path(&mut self, path: &str) -> Option<Arc<Orchestrator>> {
        if let Some(e) = self.by_path.get(path) {
            return e.orchestrator.clone();
        }
        let path = self.insert(path, None);
        self.by_path.get(&path)?.orchestrator.clone()
    }

    /// The cached, shared form of a path, and its id (stat of its directory) when the
    /// hierarchy is mounted.
    pub fn intern(&mut self, path: &str) -> (Arc<str>, Option<u64>) {
        if let Some((k, e)) = self.by_path.get_key_value(path)
            && (e.id.is_some() || self.root.is_none())
        {
            return (Arc::clone(k), e.id);
        }
        let id = self.root.as_ref().and_then(|root| {
            let dir = root.join(path.trim_start_matches('/'));
            std::fs::metadata(dir).ok().map(|m| m.ino())
        });
        (self.insert(path, id), id)
    }

    /// The cgroup v2 path of a process, from the `0::` line of `<procfs>/PID/cgroup`.
    pub fn path_of_pid(&self, pid: u32) -> Option<String> {
        self.proc_cgroup(pid)?.unified
    }

    /// Every cgroup line of `<procfs>/PID/cgroup`.
    pub fn proc_cgroup(&self, pid: u32) -> Option<ProcCgroup> {
        let text =
            std::fs::read_to_string(self.procfs.join(pid.to_string()).join("cgroup")).ok()?;
        Some(ProcCgroup::parse(&text))
    }

    /// Walk the hierarchy now and cache every cgroup in it.
    pub fn rescan(&mut self) {
        self.last_rescan = Some(Instant::now());
        let Some(root) = self.root.clone() else {
            return;
        };
        self.stats.rescans += 1;
        let mut found = Vec::new();
        if let Ok(m) = std::fs::metadata(&root) {
            found.push(("/".to_string(), m.ino()));
        }
        // Iterative depth-first walk; errors (a cgroup removed mid-walk) skip that subtree.
        let mut stack = vec![(root, String::new(), 0usize)];
        while let Some((dir, rel, depth)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let name = entry.file_name();
                let child = format!("{rel}/{}", name.to_string_lossy());
                // d_ino from getdents is the kernfs node id: no stat needed.
                found.push((child.clone(), entry.ino()));
                if depth + 1 < MAX_WALK_DEPTH {
                    stack.push((entry.path(), child, depth + 1));
                }
            }
        }
        for (path, id) in found {
            if !self.by_id.contains_key(&id) {
                self.insert(&path, Some(id));
            }
        }
    }

    fn insert(&mut self, path: &str, id: Option<u64>) -> Arc<str> {
        if self.by_path.len() >= self.capacity && !self.by_path.contains_key(path) {
            log::debug!("cgroup cache full ({} paths): emptied", self.by_path.len());
            self.by_path.clear();
            self.by_id.clear();
        }
        let key: Arc<str> = match self.by_path.get_key_value(path) {
            Some((k, _)) => Arc::clone(k),
            None => Arc::from(path),
        };
        let (container, orchestrator) = match self.by_path.get(path) {
            Some(e) => (e.container.clone(), e.orchestrator.clone()),
            None => match container_and_pod(path) {
                Some((c, o)) => (Some(Arc::new(c)), o.map(Arc::new)),
                None => (None, None),
            },
        };
        let id = id.or_else(|| self.by_path.get(path).and_then(|e| e.id));
        if let Some(id) = id {
            self.by_id.insert(id, Arc::clone(&key));
        }
        self.by_path.insert(
            Arc::clone(&key),
            PathEntry {
                id,
                container,
                orchestrator,
            },
        );
        key
    }

    /// `Ok(Some(path))` found, `Ok(None)` the kernel says there is no such cgroup, `Err(())`
    /// handles are not available here.
    fn lookup_by_handle(&mut self, id: u64) -> Result<Option<String>, ()> {
        let root = self.root.clone().ok_or(())?;
        if self.handles == Handles::Untried {
            self.handles = Handles::Unavailable;
            match open_cgroup2_dir(&root).and_then(|fd| {
                // Opening the root through its own handle proves handles work here.
                let root_id = std::fs::metadata(&root)?.ino();
                open_by_id(&fd, root_id).map(|_| fd)
            }) {
                Ok(fd) => {
                    self.root_fd = Some(fd);
                    self.handles = Handles::Works;
                }
                Err(e) => {
                    log::debug!(
                        "cgroup ids by file handle unavailable at {}: {e}",
                        root.display()
                    );
                }
            }
        }
        let fd = match (self.handles, &self.root_fd) {
            (Handles::Works, Some(fd)) => fd,
            _ => return Err(()),
        };
        match open_by_id(fd, id) {
            Ok(dir) => {
                let link = std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd()))
                    .map_err(|_| ())?;
                let rel = link.strip_prefix(&root).map_err(|_| ())?;
                Ok(Some(format!("/{}", rel.display())))
            }
            // ESTALE: no object with that handle (the cgroup was removed, or never was).
            Err(e) if matches!(e.raw_os_error(), Some(libc::ESTALE | libc::ENOENT)) => Ok(None),
            Err(e) => {
                log::debug!("cgroup id {id} by file handle: {e}");
                Err(())
            }
        }
    }
}

/// Open `root` if it is a cgroup2 file system.
fn open_cgroup2_dir(root: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(root.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid NUL-terminated path; the returned fd is owned below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is owned by no one else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: statfs is plain data; fstatfs fills it for a valid fd.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // f_type's type differs between architectures.
    if st.f_type as i64 != CGROUP2_SUPER_MAGIC {
        return Err(io::Error::other("not a cgroup2 file system"));
    }
    Ok(fd)
}

/// `struct file_handle` with room for a kernfs handle (the 64-bit node id).
#[repr(C)]
struct KernfsHandle {
    handle_bytes: u32,
    handle_type: i32,
    f_handle: [u8; 8],
}

/// Open the cgroup directory whose id is `id`, through its file handle.
fn open_by_id(mount: &OwnedFd, id: u64) -> io::Result<OwnedFd> {
    let mut handle = KernfsHandle {
        handle_bytes: 8,
        handle_type: FILEID_KERNFS,
        f_handle: id.to_ne_bytes(),
    };
    // SAFETY: `handle` is a valid file_handle header followed by handle_bytes bytes; the
    // kernel only reads it. The returned fd is owned below.
    let fd = unsafe {
        libc::open_by_handle_at(
            mount.as_raw_fd(),
            (&mut handle as *mut KernfsHandle).cast::<libc::file_handle>(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const MOUNTINFO_HYBRID: &str = "\
23 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_the_cgroup2_mount_on_hybrid_and_pure_v2_hosts() {
        assert_eq!(
            cgroup2_mount_in(MOUNTINFO_HYBRID),
            Some("/sys/fs/cgroup/unified".into())
        );
        let v2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
        assert_eq!(cgroup2_mount_in(v2), Some("/sys/fs/cgroup".into()));
        let v1_only = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(cgroup2_mount_in(v1_only), None);
        let escaped = "41 31 0:38 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup2_mount_in(escaped), Some("/mnt/my cgroups".into()));
    }

    #[test]
    fn reads_the_mount_from_an_injected_procfs() {
        let proc = tempfile::tempdir().unwrap();
        fs::create_dir(proc.path().join("self")).unwrap();
        fs::write(proc.path().join("self/mountinfo"), MOUNTINFO_HYBRID).unwrap();
        assert_eq!(
            cgroup2_mount(proc.path()).unwrap(),
            PathBuf::from("/sys/fs/cgroup/unified")
        );
        fs::write(proc.path().join("self/mountinfo"), "").unwrap();
        assert!(matches!(
            cgroup2_mount(proc.path()),
            Err(CgroupError::NoCgroup2(_))
        ));
        assert!(matches!(
            cgroup2_mount(&proc.path().join("nope")),
            Err(CgroupError::MountInfo { .. })
        ));
    }

    #[test]
    fn parses_proc_pid_cgroup() {
        let c = ProcCgroup::parse(
            "12:memory:/docker/abc\n1:name=systemd:/system.slice/x.service\n0::/system.slice/x.service\n",
        );
        assert_eq!(c.unified.as_deref(), Some("/system.slice/x.service"));
        assert_eq!(c.v1.len(), 2);
        assert_eq!(c.v1[0], ("memory".into(), "/docker/abc".into()));
        // A path may contain ':'.
        let c = ProcCgroup::parse("0::/a:b\n");
        assert_eq!(c.unified.as_deref(), Some("/a:b"));
        assert_eq!(ProcCgroup::parse("12:memory:/x\n").unified, None);
    }

    fn fake_tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cg");
        let docker = format!("system.slice/docker-{}.scope", "ab".repeat(32));
        fs::create_dir_all(root.join(&docker)).unwrap();
        fs::create_dir_all(root.join("user.slice/user-1000.slice")).unwrap();
        fs::write(root.join("system.slice/cgroup.procs"), "").unwrap();
        (dir, root)
    }

    fn ino(p: &Path) -> u64 {
        fs::metadata(p).unwrap().ino()
    }

    #[test]
    fn resolves_ids_by_walking_a_fake_tree() {
        let (dir, root) = fake_tree();
        let mut cg = Cgroups::new(dir.path(), Some(root.clone()), Duration::from_secs(3600));
        let docker = format!("/system.slice/docker-{}.scope", "ab".repeat(32));
        let id = ino(&root.join(docker.trim_start_matches('/')));
        assert_eq!(cg.path_of_id(id).as_deref(), Some(docker.as_str()));
        assert_eq!(cg.path_of_id(ino(&root)).as_deref(), Some("/"));
        assert_eq!(
            cg.path_of_id(ino(&root.join("user.slice/user-1000.slice")))
                .as_deref(),
            Some("/user.slice/user-1000.slice")
        );
        let c = cg.container_of_id(id).unwrap();
        assert_eq!(c.id, "ab".repeat(32));
        // The container is parsed once and shared.
        assert!(Arc::ptr_eq(&c, &cg.container_of_path(&docker).unwrap()));
        assert_eq!(cg.path_of_id(0), None);
        assert_eq!(cg.stats().rescans, 1, "one walk served every id");
    }

    #[test]
    fn a_storm_of_unknown_ids_walks_once_per_interval() {
        let (dir, root) = fake_tree();
        let mut cg = Cgroups::new(dir.path(), Some(root.clone()), Duration::from_secs(3600));
        for id in 1_000_000_000..1_000_001_000 {
            assert_eq!(cg.path_of_id(id), None);
        }
        assert_eq!(cg.stats().rescans, 1);
        assert_eq!(cg.stats().misses, 1000);
        // A cgroup made after the walk is found only once the interval has passed.
        fs::create_dir(root.join("late")).unwrap();
        let late = ino(&root.join("late"));
        assert_eq!(cg.path_of_id(late), None);
        let mut cg = Cgroups::new(dir.path(), Some(root.clone()), Duration::ZERO);
        assert_eq!(cg.path_of_id(1), None);
        fs::create_dir(root.join("later")).unwrap();
        assert_eq!(
            cg.path_of_id(ino(&root.join("later"))).as_deref(),
            Some("/later")
        );
        assert_eq!(cg.stats().rescans, 2);
    }

    #[test]
    fn interns_paths_from_proc_with_their_ids() {
        let (dir, root) = fake_tree();
        let mut cg = Cgroups::new(dir.path(), Some(root.clone()), Duration::from_secs(3600));
        let (path, id) = cg.intern("/user.slice/user-1000.slice");
        assert_eq!(id, Some(ino(&root.join("user.slice/user-1000.slice"))));
        let (again, _) = cg.intern("/user.slice/user-1000.slice");
        assert!(Arc::ptr_eq(&path, &again));
        // Resolving the id now needs no walk.
        assert_eq!(
            cg.path_of_id(id.unwrap()).as_deref(),
            Some("/user.slice/user-1000.slice")
        );
        assert_eq!(cg.stats().rescans, 0);
        assert_eq!(cg.intern("/gone"), (Arc::from("/gone"), None));
    }

    #[test]
    fn without_a_mount_ids_are_unknown_and_paths_still_name_containers() {
        let mut cg = Cgroups::new("/nonexistent", None, Duration::ZERO);
        assert_eq!(cg.path_of_id(42), None);
        let path = format!("/docker/{}", "cd".repeat(32));
        assert_eq!(cg.container_of_path(&path).unwrap().id, "cd".repeat(32));
        assert_eq!(cg.stats().rescans, 0);
    }

    #[test]
    fn reads_a_process_cgroup_from_an_injected_procfs() {
        let proc = tempfile::tempdir().unwrap();
        fs::create_dir(proc.path().join("42")).unwrap();
        fs::write(
            proc.path().join("42/cgroup"),
            "4:memory:/m\n0::/system.slice/foo.service\n",
        )
        .unwrap();
        let cg = Cgroups::new(proc.path(), None, Duration::ZERO);
        assert_eq!(
            cg.path_of_pid(42).as_deref(),
            Some("/system.slice/foo.service")
        );
        assert_eq!(cg.path_of_pid(43), None);
    }

    #[test]
    fn the_cache_stays_within_capacity() {
        let mut cg = Cgroups::new("/nonexistent", None, Duration::ZERO).with_capacity(4);
        for i in 0..100 {
            cg.intern(&format!("/c{i}"));
            assert!(cg.len() <= 4);
        }
    }

    /// Root: a real cgroup2 directory, found by id through its file handle.
    #[test]
    fn resolves_a_real_cgroup_by_file_handle_as_root() {
        if !crate::test_support::root_or_skip("resolves_a_real_cgroup_by_file_handle_as_root") {
            return;
        }
        let Ok(root) = cgroup2_mount(Path::new("/proc")) else {
            crate::test_support::skip(
                "SKIP (no cgroup2 mount): resolves_a_real_cgroup_by_file_handle_as_root",
            );
            return;
        };
        let name = format!("flowsight-host-test-{}", std::process::id());
        let dir = root.join(&name);
        fs::create_dir(&dir).unwrap();
        let _guard = crate::test_support::RemoveDir(dir.clone());
        let id = ino(&dir);
        let mut cg = Cgroups::new("/proc", Some(root.clone()), Duration::from_secs(3600));
        assert_eq!(
            cg.path_of_id(id).as_deref(),
            Some(format!("/{name}").as_str())
        );
        assert_eq!(cg.stats().handle_lookups, 1);
        assert_eq!(cg.stats().rescans, 0, "no walk needed");
        // Once removed, a new resolver gets a definite no from the kernel, without walking.
        fs::remove_dir(&dir).unwrap();
        let mut fresh = Cgroups::new("/proc", Some(root), Duration::ZERO);
        assert_eq!(fresh.path_of_id(id), None);
        assert_eq!(fresh.stats().rescans, 0);
        // The old resolver still names the removed cgroup: flows outlive their cgroups.
        assert_eq!(
            cg.path_of_id(id).as_deref(),
            Some(format!("/{name}").as_str())
        );
    }
}
