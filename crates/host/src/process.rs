//! The process table: what flowsight knows of every process, from kernel events and procfs.
//!
//! Kernel events keep it current (exec, fork, exit: see [`ExecEvent`] and friends, which the
//! capture side decodes); procfs fills it at start-up ([`ProcessTable::scan_procfs`]) and on
//! demand for a process whose events were never seen ([`ProcessTable::get`]). An exited
//! process stays for a grace period, so a flow that outlives a one-millisecond process is
//! still attributed to it.
//!
//! Memory is bounded: the table holds at most `max_processes` entries (evicting exited ones
//! first), the cache of pids known to be dead at most `max_negative`, and each expiry pass does
//! a bounded amount of work. Entries whose exit event was lost (ring buffer overrun) are found
//! by a slow audit that checks a few live entries against procfs on every pass.

use crate::cgroup::Cgroups;
use crate::clock::Clocks;
use crate::procfs::{self, ProcSnapshot, ProcfsError, basename};
use flowsight_record::{self as record, Container, Timestamp};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Exited entries removed per expiry pass at most.
const EXPIRE_BATCH: usize = 16_384;
/// Live entries checked against procfs per expiry pass.
const AUDIT_BATCH: usize = 256;

/// A process executed a new program (`sched_process_exec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecEvent {
    /// Process id (thread group id).
    pub tgid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Real user id after the exec (a set-uid program's effective id is not this).
    pub uid: u32,
    /// Real group id after the exec.
    pub gid: u32,
    /// cgroup v2 id of the process (0 when unknown).
    pub cgroup_id: u64,
    /// The kernel's comm after the exec (the new program's, 15 characters at most).
    pub comm: String,
    /// The file name as passed to execve: may be relative, or `/dev/fd/N` for fexecve; for a
    /// script run through its shebang, the script.
    pub filename: String,
    /// Command line arguments, as far as the kernel copied them.
    pub args: Vec<String>,
    /// True when the command line was longer than what the kernel copied.
    pub args_truncated: bool,
    /// The process's start (fork) time, CLOCK_MONOTONIC nanoseconds (`task->start_time`).
    pub start_monotonic_ns: u64,
    /// When the event was received.
    pub at: Timestamp,
}

/// A process forked a new process (not a thread) (`sched_process_fork`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkEvent {
    /// The parent's process id.
    pub parent_tgid: u32,
    /// The new process's id.
    pub child_tgid: u32,
    /// The child's `task->start_time` (CLOCK_MONOTONIC ns); 0 when unknown, and then the
    /// child's start is taken to be `at`.
    pub start_monotonic_ns: u64,
    /// When the event was received.
    pub at: Timestamp,
}

/// A process's main thread exited (`sched_process_exit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitEvent {
    /// The process id.
    pub tgid: u32,
    /// When the event was received.
    pub at: Timestamp,
}

/// Where an entry's data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessSource {
    /// An exec event.
    Exec,
    /// A fork event: copied from the parent, until the child execs.
    Fork,
    /// procfs (start-up scan, or on demand).
    Procfs,
}

/// What flowsight knows of one process.
#[derive(Debug, Clone)]
pub struct ProcessInfo {
    /// Process id (thread group id).
    pub pid: u32,
    /// Parent process id (None for the roots of the process tree).
    pub ppid: Option<u32>,
    /// Process name, not cut to 15 characters: see [`crate::process_name`].
    pub name: String,
    /// The kernel's comm (15 characters at most).
    pub comm: String,
    /// Absolute path of the executable, when known.
    pub executable: Option<String>,
    /// Command line arguments.
    pub args: Vec<String>,
    /// True when `args` is cut short.
    pub args_truncated: bool,
    /// When the process started (fork time).
    pub start: Option<Timestamp>,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// cgroup v2 id (0 when unknown).
    pub cgroup_id: u64,
    /// cgroup v2 path below the mount, when known.
    pub cgroup_path: Option<Arc<str>>,
    /// The container the process runs in, from its cgroup path.
    pub container: Option<Arc<Container>>,
    /// When it exited, if it did: it is kept for the grace period after this.
    pub exited_at: Option<Timestamp>,
    /// Where the data came from.
    pub source: ProcessSource,
    /// Distinguishes successive entries of a reused pid in the expiry queue.
    serial: u64,
    /// The record form, built on first use and shared by every owner that names it.
    record: OnceLock<Arc<record::Process>>,
}

impl ProcessInfo {
    /// The `process.*` record of this process (built once, then shared).
    pub fn record(&self) -> Arc<record::Process> {
        Arc::clone(self.record.get_or_init(|| {
            Arc::new(record::Process {
                pid: self.pid,
                ppid: self.ppid,
                name: self.name.clone(),
                executable: self.executable.clone(),
                args: self.args.clone(),
                start: self.start,
                cgroup: (self.cgroup_id != 0 || self.cgroup_path.is_some()).then(|| {
                    record::Cgroup {
                        id: self.cgroup_id,
                        path: self.cgroup_path.as_deref().map(str::to_string),
                    }
                }),
            })
        }))
    }

    /// True when the process has exited.
    pub fn has_exited(&self) -> bool {
        self.exited_at.is_some()
    }
}

/// Limits and timings of a [`ProcessTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessLimits {
    /// How long an exited process is kept.
    pub grace: Duration,
    /// Entries at most.
    pub max_processes: usize,
    /// How long a pid found dead is not looked up again.
    pub negative_ttl: Duration,
    /// Dead pids remembered at most.
    pub max_negative: usize,
}

impl Default for ProcessLimits {
    fn default() -> Self {
        ProcessLimits {
            grace: Duration::from_secs(120),
            max_processes: 1_000_000,
            negative_ttl: Duration::from_secs(2),
            max_negative: 65_536,
        }
    }
}

/// pid -> [`ProcessInfo`]; see the module docs.
#[derive(Debug)]
pub struct ProcessTable {
    procfs: PathBuf,
    clocks: Clocks,
    limits: ProcessLimits,
    map: HashMap<u32, Arc<ProcessInfo>>,
    /// (exit time, pid, serial), oldest first.
    exited: VecDeque<(Timestamp, u32, u64)>,
    /// pids of live entries, in audit order, each at most once.
    audit: VecDeque<u32>,
    /// The pids in `audit`.
    in_audit: HashSet<u32>,
    /// pid -> when it was found dead.
    negative: HashMap<u32, Instant>,
    next_serial: u64,
}

impl ProcessTable {
    /// An empty table reading processes from `procfs`.
    pub fn new(procfs: impl Into<PathBuf>, clocks: Clocks, limits: ProcessLimits) -> ProcessTable {
        ProcessTable {
            procfs: procfs.into(),
            clocks,
            limits: ProcessLimits {
                max_processes: limits.max_processes.max(1),
                max_negative: limits.max_negative.max(1),
                ..limits
            },
            map: HashMap::new(),
            exited: VecDeque::new(),
            audit: VecDeque::new(),
            in_audit: HashSet::new(),
            negative: HashMap::new(),
            next_serial: 0,
        }
    }

    /// Entries, exited ones included.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The clock offsets used for start times.
    pub fn clocks_mut(&mut self) -> &mut Clocks {
        &mut self.clocks
    }

    /// The entry for `tgid`, if the table has one (no procfs read).
    pub fn peek(&self, tgid: u32) -> Option<&Arc<ProcessInfo>> {
        self.map.get(&tgid)
    }

    /// The entry for `tgid`: from the table, else read from procfs now (the process predates
    /// flowsight, or its events were lost) and kept. A pid found dead is remembered as such
    /// for a moment, so asking again is cheap.
    pub fn get(&mut self, tgid: u32, cgroups: &mut Cgroups) -> Option<Arc<ProcessInfo>> {
        if let Some(p) = self.map.get(&tgid) {
            return Some(Arc::clone(p));
        }
        if tgid == 0 {
            return None;
        }
        if self
            .negative
            .get(&tgid)
            .is_some_and(|at| at.elapsed() < self.limits.negative_ttl)
        {
            return None;
        }
        match procfs::read_process(&self.procfs, tgid) {
            Ok(snap) => {
                self.negative.remove(&tgid);
                let info = self.info_from_procfs(snap, cgroups);
                Some(self.insert(info))
            }
            Err(e) => {
                if !matches!(e, ProcfsError::Gone(_)) {
                    log::debug!("process {tgid}: {e}");
                }
                self.remember_dead(tgid);
                None
            }
        }
    }

    /// Read every process in procfs (start-up). Processes already in the table (an event was
    /// applied first) are kept as they are. Returns how many were added.
    pub fn scan_procfs(&mut self, cgroups: &mut Cgroups) -> usize {
        let mut added = 0;
        for pid in procfs::pids(&self.procfs) {
            if self.map.contains_key(&pid) {
                continue;
            }
            match procfs::read_process(&self.procfs, pid) {
                Ok(snap) => {
                    let info = self.info_from_procfs(snap, cgroups);
                    self.insert(info);
                    added += 1;
                }
                Err(ProcfsError::Gone(_)) => {}
                Err(e) => log::debug!("start-up scan: {e}"),
            }
        }
        added
    }

    /// A process executed a program.
    pub fn on_exec(&mut self, e: ExecEvent, cgroups: &mut Cgroups) {
        let fd_exec =
            e.filename.starts_with("/dev/fd/") || e.filename.starts_with("/proc/self/fd/");
        // A relative name (or fexecve's /dev/fd/N) says little; the exe link says where the
        // file is, if the process is still the one that exec'd (same comm).
        let live_exe = || {
            let comm = procfs::read_comm(&self.procfs, e.tgid)?;
            (comm == e.comm)
                .then(|| procfs::read_exe(&self.procfs, e.tgid))
                .flatten()
        };
        let executable = if e.filename.starts_with('/') && !fd_exec {
            Some(e.filename.clone())
        } else {
            live_exe().or_else(|| (!e.filename.is_empty() && !fd_exec).then(|| e.filename.clone()))
        };
        let name = if e.filename.is_empty() || fd_exec {
            e.comm.clone()
        } else {
            basename(&e.filename).to_string()
        };
        let mut cgroup_path = cgroups.path_of_id(e.cgroup_id);
        if cgroup_path.is_none() && e.cgroup_id != 0 {
            // A cgroup newer than the last walk (a container starting): the live process's
            // /proc entry names it, if its directory still has the event's id.
            if let Some(path) = cgroups.path_of_pid(e.tgid) {
                let (path, id) = cgroups.intern(&path);
                cgroup_path = (id == Some(e.cgroup_id)).then_some(path);
            }
        }
        let container = cgroup_path
            .as_deref()
            .and_then(|p| cgroups.container_of_path(p));
        let info = ProcessInfo {
            pid: e.tgid,
            ppid: (e.ppid != 0).then_some(e.ppid),
            name,
            comm: e.comm,
            executable,
            args: e.args,
            args_truncated: e.args_truncated,
            start: (e.start_monotonic_ns != 0)
                .then(|| self.clocks.monotonic_to_wall(e.start_monotonic_ns)),
            uid: e.uid,
            gid: e.gid,
            cgroup_id: e.cgroup_id,
            cgroup_path,
            container,
            exited_at: None,
            source: ProcessSource::Exec,
            serial: 0,
            record: OnceLock::new(),
        };
        self.negative.remove(&e.tgid);
        self.insert(info);
    }

    /// A process forked: the child is its parent's copy (program, arguments, user, cgroup)
    /// until it execs.
    pub fn on_fork(&mut self, e: ForkEvent, cgroups: &mut Cgroups) {
        self.negative.remove(&e.child_tgid);
        // An exited parent still serves: its fork was before its exit.
        let Some(parent) = self.get(e.parent_tgid, cgroups) else {
            // Unknown parent: read the child itself, if it is still there.
            self.map.remove(&e.child_tgid);
            self.get(e.child_tgid, cgroups);
            return;
        };
        let mut child = ProcessInfo::clone(&parent);
        child.pid = e.child_tgid;
        child.ppid = Some(e.parent_tgid);
        child.start = Some(if e.start_monotonic_ns != 0 {
            self.clocks.monotonic_to_wall(e.start_monotonic_ns)
        } else {
            e.at
        });
        child.exited_at = None;
        child.source = ProcessSource::Fork;
        child.record = OnceLock::new();
        self.insert(child);
    }

    /// A process exited: it is kept for the grace period.
    pub fn on_exit(&mut self, e: ExitEvent) {
        if let Some(p) = self.map.get_mut(&e.tgid)
            && p.exited_at.is_none()
        {
            Arc::make_mut(p).exited_at = Some(e.at);
            self.exited.push_back((e.at, e.tgid, p.serial));
        }
    }

    /// Drop processes that exited more than the grace period before `now`, and check a few
    /// live ones against procfs (their exit event may have been lost). Bounded work per call.
    /// Returns how many were dropped.
    pub fn expire(&mut self, now: Timestamp) -> usize {
        let mut dropped = 0;
        for _ in 0..EXPIRE_BATCH {
            let Some(&(at, pid, serial)) = self.exited.front() else {
                break;
            };
            if now.nanos_since(at) < self.limits.grace.as_nanos() as u64 {
                break;
            }
            self.exited.pop_front();
            if self.map.get(&pid).is_some_and(|p| p.serial == serial) {
                self.map.remove(&pid);
                dropped += 1;
            }
        }
        self.audit(now);
        self.negative
            .retain(|_, at| at.elapsed() < self.limits.negative_ttl);
        dropped
    }

    fn audit(&mut self, now: Timestamp) {
        for _ in 0..AUDIT_BATCH.min(self.audit.len()) {
            let Some(pid) = self.audit.pop_front() else {
                break;
            };
            let Some(p) = self.map.get_mut(&pid).filter(|p| !p.has_exited()) else {
                self.in_audit.remove(&pid);
                continue;
            };
            if self.procfs.join(pid.to_string()).symlink_metadata().is_ok() {
                self.audit.push_back(pid);
            } else {
                self.in_audit.remove(&pid);
                Arc::make_mut(p).exited_at = Some(now);
                self.exited.push_back((now, pid, p.serial));
            }
        }
    }

    fn remember_dead(&mut self, pid: u32) {
        if self.negative.len() >= self.limits.max_negative {
            let ttl = self.limits.negative_ttl;
            self.negative.retain(|_, at| at.elapsed() < ttl);
            if self.negative.len() >= self.limits.max_negative {
                self.negative.clear();
            }
        }
        self.negative.insert(pid, Instant::now());
    }

    fn info_from_procfs(&self, snap: ProcSnapshot, cgroups: &mut Cgroups) -> ProcessInfo {
        let name = snap.name();
        let (cgroup_path, cgroup_id) = match &snap.cgroup.unified {
            Some(path) => {
                let (path, id) = cgroups.intern(path);
                (Some(path), id.unwrap_or(0))
            }
            None => (None, 0),
        };
        // The v2 path names the container; on hybrid hosts a runtime using v1 only (docker's
        // cgroupfs driver) leaves it elsewhere, so the v1 paths are tried next.
        let container = cgroup_path
            .as_deref()
            .and_then(|p| cgroups.container_of_path(p))
            .or_else(|| {
                snap.cgroup
                    .v1
                    .iter()
                    .find_map(|(_, p)| cgroups.container_of_path(p))
            });
        ProcessInfo {
            pid: snap.pid,
            ppid: (snap.stat.ppid != 0).then_some(snap.stat.ppid),
            name,
            comm: snap.stat.comm,
            executable: snap.exe,
            args: snap.args,
            args_truncated: snap.args_truncated,
            start: Some(self.clocks.ticks_to_wall(snap.stat.start_ticks)),
            uid: snap.status.uid,
            gid: snap.status.gid,
            cgroup_id,
            cgroup_path,
            container,
            exited_at: (snap.stat.state == 'Z').then(Timestamp::now),
            source: ProcessSource::Procfs,
            serial: 0,
            record: OnceLock::new(),
        }
    }

    fn insert(&mut self, mut info: ProcessInfo) -> Arc<ProcessInfo> {
        let pid = info.pid;
        if !self.map.contains_key(&pid) && self.map.len() >= self.limits.max_processes {
            self.evict_one();
        }
        self.next_serial += 1;
        info.serial = self.next_serial;
        match info.exited_at {
            Some(at) => self.exited.push_back((at, pid, info.serial)),
            None => {
                if self.in_audit.insert(pid) {
                    self.audit.push_back(pid);
                }
            }
        }
        let info = Arc::new(info);
        self.map.insert(pid, Arc::clone(&info));
        info
    }

    /// Make room for one entry: the longest-exited one, else any.
    fn evict_one(&mut self) {
        while let Some((_, pid, serial)) = self.exited.pop_front() {
            if self.map.get(&pid).is_some_and(|p| p.serial == serial) {
                self.map.remove(&pid);
                return;
            }
        }
        // Only live processes: drop one; procfs gives it back on demand.
        if let Some(&pid) = self.map.keys().next() {
            self.map.remove(&pid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::fake::FakeProc;
    use std::path::Path;

    const SEC: u64 = 1_000_000_000;

    fn clocks() -> Clocks {
        // Wall = monotonic + 1000 s; wall = boottime + 900 s.
        Clocks::fixed(1000 * SEC as i64, 900 * SEC as i64, 100)
    }

    fn table(procfs: &Path, limits: ProcessLimits) -> (ProcessTable, Cgroups) {
        (
            ProcessTable::new(procfs, clocks(), limits),
            Cgroups::new(procfs, None, Duration::ZERO),
        )
    }

    fn exec(tgid: u32, filename: &str, comm: &str) -> ExecEvent {
        ExecEvent {
            tgid,
            ppid: 1,
            uid: 1000,
            gid: 100,
            cgroup_id: 0,
            comm: comm.into(),
            filename: filename.into(),
            args: vec![comm.into(), "--flag".into()],
            args_truncated: false,
            start_monotonic_ns: 5 * SEC,
            at: Timestamp(1005 * SEC),
        }
    }

    fn docker_proc(pid: u32) -> FakeProc<'static> {
        FakeProc {
            pid,
            ppid: 1,
            comm: "systemd-resolve",
            exe: Some("/usr/lib/systemd/systemd-resolved"),
            cmdline: &["/usr/lib/systemd/systemd-resolved"],
            uid: 101,
            gid: 103,
            start_ticks: 250,
            cgroup: "/system.slice/docker-abababababababababababababababababababababababababababababababab.scope",
        }
    }

    #[test]
    fn exec_events_name_the_process_by_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, mut cg) = table(dir.path(), ProcessLimits::default());
        t.on_exec(
            exec(
                42,
                "/usr/local/bin/kube-controller-manager",
                "kube-controller",
            ),
            &mut cg,
        );
        let p = t.get(42, &mut cg).unwrap();
        assert_eq!(p.name, "kube-controller-manager");
        assert_eq!(p.comm, "kube-controller");
        assert_eq!(
            p.executable.as_deref(),
            Some("/usr/local/bin/kube-controller-manager")
        );
        assert_eq!(p.start, Some(Timestamp(1005 * SEC)));
        assert_eq!(p.ppid, Some(1));
        assert_eq!((p.uid, p.gid), (1000, 100));
        assert_eq!(p.source, ProcessSource::Exec);
        let r = p.record();
        assert_eq!(r.name, "kube-controller-manager");
        assert_eq!(r.args, vec!["kube-controller", "--flag"]);
        assert!(r.cgroup.is_none());
        assert!(Arc::ptr_eq(&r, &p.record()), "built once");

        // A script through its shebang: the exec file name is the script.
        t.on_exec(
            exec(43, "/opt/tools/nightly-backup.sh", "nightly-backup."),
            &mut cg,
        );
        assert_eq!(t.get(43, &mut cg).unwrap().name, "nightly-backup.sh");
    }

    #[test]
    fn relative_exec_names_use_the_exe_link_of_the_live_process() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, mut cg) = table(dir.path(), ProcessLimits::default());
        FakeProc {
            comm: "myserver",
            exe: Some("/srv/app/bin/myserver"),
            ..docker_proc(50)
        }
        .write(dir.path());
        t.on_exec(exec(50, "./bin/myserver", "myserver"), &mut cg);
        let p = t.get(50, &mut cg).unwrap();
        assert_eq!(p.executable.as_deref(), Some("/srv/app/bin/myserver"));
        assert_eq!(p.name, "myserver");
        // Gone already (or the pid is now another program's): the name as given.
        t.on_exec(exec(51, "./bin/other", "other"), &mut cg);
        assert_eq!(
            t.get(51, &mut cg).unwrap().executable.as_deref(),
            Some("./bin/other")
        );
        FakeProc {
            comm: "different",
            ..docker_proc(52)
        }
        .write(dir.path());
        t.on_exec(exec(52, "x", "x"), &mut cg);
        assert_eq!(t.get(52, &mut cg).unwrap().executable.as_deref(), Some("x"));
        // fexecve: the comm names it.
        t.on_exec(exec(53, "/dev/fd/3", "memfd-prog"), &mut cg);
        let p = t.get(53, &mut cg).unwrap();
        assert_eq!(
            (p.name.as_str(), p.executable.as_deref()),
            ("memfd-prog", None)
        );
    }

    #[test]
    fn a_cgroup_newer_than_the_last_walk_is_found_through_proc() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let proc = dir.path().join("proc");
        let root = dir.path().join("cgroup");
        std::fs::create_dir_all(&root).unwrap();
        let mut cg = Cgroups::new(&proc, Some(root.clone()), Duration::from_secs(3600));
        let mut t = ProcessTable::new(&proc, clocks(), ProcessLimits::default());
        assert_eq!(cg.path_of_id(999_999_999), None, "the walk is spent");
        let scope = format!("system.slice/docker-{}.scope", "ef".repeat(32));
        std::fs::create_dir_all(root.join(&scope)).unwrap();
        let id = std::fs::metadata(root.join(&scope)).unwrap().ino();
        FakeProc {
            cgroup: &format!("/{scope}"),
            ..docker_proc(60)
        }
        .write(&proc);
        t.on_exec(
            ExecEvent {
                cgroup_id: id,
                ..exec(60, "/usr/bin/redis-server", "redis-server")
            },
            &mut cg,
        );
        let p = t.get(60, &mut cg).unwrap();
        assert_eq!(p.cgroup_path.as_deref(), Some(format!("/{scope}").as_str()));
        assert_eq!(p.container.as_ref().unwrap().id, "ef".repeat(32));
        assert_eq!(
            cg.path_of_id(id).as_deref(),
            Some(format!("/{scope}").as_str())
        );
        // A /proc path whose directory has another id is not taken.
        FakeProc {
            cgroup: "/system.slice",
            ..docker_proc(61)
        }
        .write(&proc);
        t.on_exec(
            ExecEvent {
                cgroup_id: id + 1_000_000,
                ..exec(61, "/bin/x", "x")
            },
            &mut cg,
        );
        assert_eq!(t.get(61, &mut cg).unwrap().cgroup_path, None);
    }

    #[test]
    fn forks_inherit_until_exec_and_exits_last_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let limits = ProcessLimits {
            grace: Duration::from_secs(120),
            ..Default::default()
        };
        let (mut t, mut cg) = table(dir.path(), limits);
        t.on_exec(exec(100, "/usr/sbin/nginx", "nginx"), &mut cg);
        t.on_fork(
            ForkEvent {
                parent_tgid: 100,
                child_tgid: 101,
                start_monotonic_ns: 0,
                at: Timestamp(2000 * SEC),
            },
            &mut cg,
        );
        let c = t.get(101, &mut cg).unwrap();
        assert_eq!((c.pid, c.ppid, c.name.as_str()), (101, Some(100), "nginx"));
        assert_eq!(c.start, Some(Timestamp(2000 * SEC)));
        assert_eq!(c.source, ProcessSource::Fork);
        assert_eq!(
            c.record().pid,
            101,
            "the record is the child's, not the parent's copy"
        );

        t.on_exec(exec(101, "/usr/bin/curl", "curl"), &mut cg);
        assert_eq!(t.get(101, &mut cg).unwrap().name, "curl");
        assert_eq!(t.get(100, &mut cg).unwrap().name, "nginx");

        t.on_exit(ExitEvent {
            tgid: 101,
            at: Timestamp(3000 * SEC),
        });
        assert_eq!(
            t.get(101, &mut cg).unwrap().exited_at,
            Some(Timestamp(3000 * SEC))
        );
        assert_eq!(t.expire(Timestamp(3119 * SEC)), 0);
        assert!(t.peek(101).is_some());
        assert_eq!(t.expire(Timestamp(3120 * SEC)), 1);
        assert!(t.peek(101).is_none());
        // Nothing in the fake procfs: the pid is dead and remembered as such.
        assert!(t.get(101, &mut cg).is_none());
        assert!(t.peek(100).is_some());
    }

    #[test]
    fn a_reused_pid_is_not_expired_by_its_predecessors_exit() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, mut cg) = table(dir.path(), ProcessLimits::default());
        docker_proc(7).write(dir.path()); // alive, for the audit
        t.on_exec(exec(7, "/bin/a", "a"), &mut cg);
        t.on_exit(ExitEvent {
            tgid: 7,
            at: Timestamp(10 * SEC),
        });
        t.on_exec(exec(7, "/bin/b", "b"), &mut cg);
        t.expire(Timestamp(10_000 * SEC));
        let p = t.get(7, &mut cg).unwrap();
        assert_eq!((p.name.as_str(), p.exited_at), ("b", None));
    }

    #[test]
    fn reads_unknown_processes_from_procfs_on_demand() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, mut cg) = table(dir.path(), ProcessLimits::default());
        docker_proc(300).write(dir.path());
        let p = t.get(300, &mut cg).unwrap();
        assert_eq!(p.name, "systemd-resolved");
        assert_eq!(p.comm, "systemd-resolve");
        assert_eq!(
            p.start,
            Some(Timestamp(902 * SEC + SEC / 2)),
            "250 ticks after boot"
        );
        assert_eq!((p.uid, p.gid), (101, 103));
        assert_eq!(p.container.as_ref().unwrap().id, "ab".repeat(32));
        assert_eq!(p.source, ProcessSource::Procfs);
        assert!(
            p.cgroup_path
                .as_deref()
                .unwrap()
                .starts_with("/system.slice/docker-")
        );
        assert_eq!(p.cgroup_id, 0, "no cgroup2 mount in this test");
        assert!(Arc::ptr_eq(&p, &t.get(300, &mut cg).unwrap()), "read once");
    }

    #[test]
    fn dead_pids_are_cached_briefly() {
        let dir = tempfile::tempdir().unwrap();
        let limits = ProcessLimits {
            negative_ttl: Duration::from_secs(3600),
            ..Default::default()
        };
        let (mut t, mut cg) = table(dir.path(), limits);
        assert!(t.get(400, &mut cg).is_none());
        // It appears (pid reused) but the miss is still remembered...
        docker_proc(400).write(dir.path());
        assert!(t.get(400, &mut cg).is_none());
        // ...unless an event names it.
        t.on_fork(
            ForkEvent {
                parent_tgid: 1,
                child_tgid: 400,
                start_monotonic_ns: 0,
                at: Timestamp(SEC),
            },
            &mut cg,
        );
        assert!(t.get(400, &mut cg).is_some());

        let limits = ProcessLimits {
            negative_ttl: Duration::ZERO,
            ..Default::default()
        };
        let (mut t, mut cg) = table(dir.path(), limits);
        assert!(t.get(401, &mut cg).is_none());
        docker_proc(401).write(dir.path());
        assert!(t.get(401, &mut cg).is_some());
    }

    #[test]
    fn the_negative_cache_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let limits = ProcessLimits {
            negative_ttl: Duration::from_secs(3600),
            max_negative: 100,
            ..Default::default()
        };
        let (mut t, mut cg) = table(dir.path(), limits);
        for pid in 1000..2000 {
            assert!(t.get(pid, &mut cg).is_none());
            assert!(t.negative.len() <= 100);
        }
    }

    #[test]
    fn scans_procfs_at_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, mut cg) = table(dir.path(), ProcessLimits::default());
        docker_proc(1).write(dir.path());
        FakeProc {
            pid: 2,
            ppid: 0,
            comm: "kthreadd",
            exe: None,
            cmdline: &[],
            uid: 0,
            gid: 0,
            start_ticks: 0,
            cgroup: "/",
        }
        .write(dir.path());
        std::fs::create_dir(dir.path().join("self")).unwrap();
        std::fs::create_dir(dir.path().join("sys")).unwrap();
        t.on_exec(exec(1, "/sbin/init", "init"), &mut cg);
        assert_eq!(t.scan_procfs(&mut cg), 1);
        assert_eq!(t.len(), 2);
        assert_eq!(t.peek(1).unwrap().name, "init", "the event's data is kept");
        let k = t.peek(2).unwrap();
        assert_eq!(
            (k.name.as_str(), k.ppid, k.executable.as_deref()),
            ("kthreadd", None, None)
        );
        assert!(k.args.is_empty());
    }

    #[test]
    fn the_table_is_bounded_and_evicts_exited_processes_first() {
        let dir = tempfile::tempdir().unwrap();
        let limits = ProcessLimits {
            max_processes: 10,
            ..Default::default()
        };
        let (mut t, mut cg) = table(dir.path(), limits);
        for pid in 1..=10 {
            t.on_exec(exec(pid, "/bin/sh", "sh"), &mut cg);
        }
        t.on_exit(ExitEvent {
            tgid: 3,
            at: Timestamp(SEC),
        });
        t.on_exec(exec(11, "/bin/sh", "sh"), &mut cg);
        assert_eq!(t.len(), 10);
        assert!(t.peek(3).is_none(), "the exited one made room");
        for pid in 12..1000 {
            t.on_exec(exec(pid, "/bin/sh", "sh"), &mut cg);
            assert!(t.len() <= 10);
        }
        assert!(t.peek(999).is_some());
    }

    #[test]
    fn the_audit_finds_processes_whose_exit_was_lost() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, mut cg) = table(dir.path(), ProcessLimits::default());
        docker_proc(500).write(dir.path());
        docker_proc(501).write(dir.path());
        t.scan_procfs(&mut cg);
        std::fs::remove_dir_all(dir.path().join("501")).unwrap();
        t.expire(Timestamp(100 * SEC));
        assert_eq!(t.peek(501).unwrap().exited_at, Some(Timestamp(100 * SEC)));
        assert_eq!(t.peek(500).unwrap().exited_at, None);
        t.expire(Timestamp(221 * SEC));
        assert!(t.peek(501).is_none());
        assert!(t.peek(500).is_some());
        assert_eq!(
            t.audit.len(),
            1,
            "the audit queue holds each live entry once"
        );
    }

    #[test]
    fn an_exec_after_a_fork_keeps_one_audit_slot() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, mut cg) = table(dir.path(), ProcessLimits::default());
        t.on_exec(exec(1, "/sbin/init", "init"), &mut cg);
        for _ in 0..100 {
            t.on_fork(
                ForkEvent {
                    parent_tgid: 1,
                    child_tgid: 2,
                    start_monotonic_ns: 0,
                    at: Timestamp(SEC),
                },
                &mut cg,
            );
            t.on_exec(exec(2, "/bin/true", "true"), &mut cg);
        }
        assert_eq!(t.audit.len(), 2);
    }

    /// A real child: read from the real procfs while alive, dead after it is killed.
    #[test]
    fn reads_a_live_child_from_the_real_procfs() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut t = ProcessTable::new("/proc", Clocks::system(), ProcessLimits::default());
        let mut cg = Cgroups::new(
            "/proc",
            crate::cgroup::cgroup2_mount(Path::new("/proc")).ok(),
            Duration::from_secs(1),
        );
        // The spawned process may not have exec'd sleep yet: wait for its comm.
        let deadline = Instant::now() + Duration::from_secs(5);
        // The comm changes before the new command line is in place: wait for both.
        let execd = || {
            procfs::read_process(Path::new("/proc"), pid)
                .is_ok_and(|p| p.stat.comm == "sleep" && p.args.len() == 2)
        };
        while !execd() {
            assert!(Instant::now() < deadline, "child never exec'd");
            std::thread::sleep(Duration::from_millis(5));
        }
        let p = t.get(pid, &mut cg).unwrap();
        assert_eq!(p.name, "sleep");
        assert_eq!(p.args, vec!["sleep", "5"]);
        assert_eq!(p.ppid, Some(std::process::id()));
        assert!(p.executable.as_deref().unwrap().ends_with("/sleep"));
        let start = p.start.unwrap().as_nanos();
        let now = Timestamp::now().as_nanos();
        assert!(
            now >= start && now - start < 10 * SEC,
            "started {}s ago",
            (now - start) / SEC
        );
        if cg.root().is_some() {
            assert_ne!(p.cgroup_id, 0, "id of {:?}", p.cgroup_path);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let mut fresh = ProcessTable::new("/proc", Clocks::system(), ProcessLimits::default());
        assert!(fresh.get(pid, &mut cg).is_none());
    }
}
