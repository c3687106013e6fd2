//! [`Host`]: processes, cgroups and user names together, building [`Owner`]s.

use crate::OwnerSource;
use crate::cgroup::{Cgroups, cgroup2_mount};
use crate::clock::Clocks;
use crate::enrich::{RuntimeAnswer, RuntimeApis};
use crate::netns::NetnsCache;
use crate::process::{ExecEvent, ExitEvent, ForkEvent, ProcessInfo, ProcessLimits, ProcessTable};
use crate::sockets::SocketStamp;
use crate::users::Users;
use flowsight_record::{Container, Netns, Orchestrator, Owner, Process, Timestamp};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Minimal processes (built from a stamp for a pid already gone) kept at most; also the
/// named containers kept at most.
const STAMP_PROCESSES: usize = 4096;
/// How often containers the runtime's API did not know are asked again.
const NAMES_RETRY: Duration = Duration::from_secs(60);

/// Where the host's state is read from, and the limits of what is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// The procfs mount (`/proc`).
    pub procfs_root: PathBuf,
    /// The cgroup2 mount; None finds it in `<procfs_root>/self/mountinfo`.
    pub cgroup2_root: Option<PathBuf>,
    /// How long an exited process is kept, so flows that outlive it are still attributed.
    pub grace: Duration,
    /// Processes kept at most.
    pub max_processes: usize,
    /// How long a pid found dead is not looked up again.
    pub negative_ttl: Duration,
    /// Dead pids remembered at most.
    pub max_negative: usize,
    /// Shortest time between two walks of the cgroup hierarchy for unknown cgroup ids.
    pub cgroup_rescan_interval: Duration,
    /// Docker Engine API sockets asked for docker and podman containers' names, images and
    /// labels (the first that exists; none: no names).
    pub docker_sockets: Vec<PathBuf>,
    /// CRI runtime service sockets (containerd, CRI-O) asked for Kubernetes containers'
    /// names, images and labels and their pods' names and namespaces (the first that exists;
    /// none: no names).
    pub cri_sockets: Vec<PathBuf>,
}

impl HostConfig {
    /// This host: `/proc`, the cgroup2 mount from its mount table, the default limits.
    pub fn system() -> HostConfig {
        HostConfig {
            docker_sockets: crate::docker::DEFAULT_SOCKETS
                .iter()
                .map(PathBuf::from)
                .collect(),
            cri_sockets: crate::cri::DEFAULT_SOCKETS
                .iter()
                .map(PathBuf::from)
                .collect(),
            ..HostConfig::with_procfs("/proc")
        }
    }

    /// The default limits over another procfs (a fake tree in tests, a host's `/proc`
    /// mounted elsewhere in a container).
    pub fn with_procfs(procfs_root: impl Into<PathBuf>) -> HostConfig {
        let limits = ProcessLimits::default();
        HostConfig {
            procfs_root: procfs_root.into(),
            cgroup2_root: None,
            grace: limits.grace,
            max_processes: limits.max_processes,
            negative_ttl: limits.negative_ttl,
            max_negative: limits.max_negative,
            cgroup_rescan_interval: Duration::from_millis(500),
            docker_sockets: Vec::new(),
            cri_sockets: Vec::new(),
        }
    }

    fn limits(&self) -> ProcessLimits {
        ProcessLimits {
            grace: self.grace,
            max_processes: self.max_processes,
            negative_ttl: self.negative_ttl,
            max_negative: self.max_negative,
        }
    }
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig::system()
    }
}

/// Everything flowsight knows of the host's processes, cgroups and users.
#[derive(Debug)]
pub struct Host {
    processes: ProcessTable,
    cgroups: Cgroups,
    users: Users,
    /// Network namespaces of processes, for stamps that do not carry their socket's.
    netns: NetnsCache,
    /// (pid, comm) -> the minimal process of a stamp whose pid is gone.
    stamp_processes: HashMap<(u32, String), Arc<Process>>,
    /// Names, images, labels and pods from the runtimes' APIs.
    names: RuntimeApis,
    /// Containers with their names (and their pods with theirs), by id, built once per
    /// container.
    named: HashMap<String, Named>,
    /// When the containers the runtime did not know were last asked again.
    names_retried: std::time::Instant,
}

impl Host {
    /// A host with NSS user names and the system clocks. Never fails: without a cgroup2
    /// mount, cgroup ids stay unnamed (containers are still found from /proc paths).
    pub fn new(config: HostConfig) -> Host {
        Host::with_parts(config, Users::system(), Clocks::system())
    }

    /// A host with the given name look-ups and clocks (tests).
    pub fn with_parts(config: HostConfig, users: Users, clocks: Clocks) -> Host {
        let root = config.cgroup2_root.clone().or_else(|| {
            cgroup2_mount(&config.procfs_root)
                .inspect_err(|e| log::warn!("cgroup ids will not be named: {e}"))
                .ok()
        });
        Host {
            processes: ProcessTable::new(config.procfs_root.clone(), clocks, config.limits()),
            cgroups: Cgroups::new(
                config.procfs_root.clone(),
                root,
                config.cgroup_rescan_interval,
            ),
            users,
            netns: NetnsCache::new(config.procfs_root.clone()),
            stamp_processes: HashMap::new(),
            names: RuntimeApis::new(&config.docker_sockets, &config.cri_sockets),
            named: HashMap::new(),
            names_retried: std::time::Instant::now(),
        }
    }

    /// Read every existing process (start-up); returns how many were added.
    pub fn scan_procfs(&mut self) -> usize {
        self.processes.scan_procfs(&mut self.cgroups)
    }

    /// Apply an exec event.
    pub fn on_exec(&mut self, e: ExecEvent) {
        self.processes.on_exec(e, &mut self.cgroups);
    }

    /// Apply a fork event.
    pub fn on_fork(&mut self, e: ForkEvent) {
        self.processes.on_fork(e, &mut self.cgroups);
    }

    /// Apply an exit event.
    pub fn on_exit(&mut self, e: ExitEvent) {
        self.processes.on_exit(e);
    }

    /// Forget processes exited more than the grace period before `now` (bounded work), and
    /// measure the clock offsets again.
    pub fn expire(&mut self, now: Timestamp) {
        self.processes.clocks_mut().refresh();
        self.processes.expire(now);
        if self.names_retried.elapsed() >= NAMES_RETRY {
            self.names_retried = std::time::Instant::now();
            self.names.retry_unknown();
        }
    }

    /// The container with its name, image and labels, and its pod with its name and
    /// namespace, when the runtime's API gave them (asked once per container, never waited
    /// for).
    fn named(
        &mut self,
        c: Arc<Container>,
        pod: Option<Arc<Orchestrator>>,
    ) -> (Arc<Container>, Option<Arc<Orchestrator>>) {
        if let Some(n) = self.named.get(&c.id) {
            return (Arc::clone(&n.container), n.orchestrator.clone().or(pod));
        }
        let Some(answer) = self.names.answer(&c) else {
            return (c, pod);
        };
        if self.named.len() >= STAMP_PROCESSES {
            self.named.clear();
        }
        let n = Named {
            container: Arc::new(Container {
                meta: Some(Arc::clone(&answer.container)),
                ..(*c).clone()
            }),
            orchestrator: pod.map(|o| named_pod(o, &answer)),
        };
        let got = (Arc::clone(&n.container), n.orchestrator.clone());
        self.named.insert(c.id.clone(), n);
        got
    }

    /// Whether `c` has no name yet and the name was asked of its runtime and has not come (a
    /// container first seen some milliseconds ago).
    pub fn name_pending(&mut self, c: &Container) -> bool {
        c.meta.is_none() && !self.named.contains_key(&c.id) && self.names.pending(c)
    }

    /// Give `owner`'s container and pod the names that came since the owner was made.
    pub fn rename(&mut self, owner: &mut Owner) {
        let Some(c) = owner.container.take() else {
            return;
        };
        if c.meta.is_some() {
            owner.container = Some(c);
            return;
        }
        let (c, pod) = self.named(c, owner.orchestrator.take());
        owner.container = Some(c);
        owner.orchestrator = pod;
    }

    /// A process by id, from the table or procfs.
    pub fn process(&mut self, tgid: u32) -> Option<Arc<ProcessInfo>> {
        self.processes.get(tgid, &mut self.cgroups)
    }

    /// The owner of a socket the kernel stamped: the process from the table (or, for a pid
    /// already gone and never seen, a minimal process from the stamp's pid and comm), the user
    /// and group the stamp recorded, and the container of the stamp's cgroup (of the process's
    /// cgroup when the stamp's cannot be named). None only for stamps without a process
    /// (tgid 0: the kernel stamped from interrupt context).
    pub fn owner(&mut self, stamp: &SocketStamp) -> Option<Owner> {
        if stamp.tgid == 0 {
            return None;
        }
        let info = self.processes.get(stamp.tgid, &mut self.cgroups);
        let process = match &info {
            Some(info) => info.record(),
            None => self.stamp_process(stamp),
        };
        let (container, orchestrator) = match self.cgroups.path_of_id(stamp.cgroup_id) {
            Some(path) => (
                self.cgroups.container_of_path(&path),
                self.cgroups.orchestrator_of_path(&path),
            ),
            // The process's container: from its v2 path, or on a hybrid host from a v1 path
            // (docker's cgroupfs driver leaves the v2 one elsewhere).
            None => {
                let container = info.as_ref().and_then(|i| i.container.clone());
                let orchestrator = info
                    .as_ref()
                    .and_then(|i| i.cgroup_path.clone())
                    .and_then(|p| self.cgroups.orchestrator_of_path(&p))
                    .filter(|o| {
                        container.as_ref().and_then(|c| c.pod_uid.as_deref())
                            == Some(o.resource.id.as_str())
                    });
                (container, orchestrator)
            }
        };
        // The socket's namespace from the kernel; else the process's, read once per process.
        let netns = match (stamp.netns, &info) {
            (0, Some(i)) if i.has_exited() => self.netns.cached(i.pid, i.start),
            (0, Some(i)) => self.netns.of(i.pid, i.start),
            (0, None) => None,
            (id, _) => Some(id),
        };
        let (container, orchestrator) = match container {
            Some(c) => {
                let (c, o) = self.named(c, orchestrator);
                (Some(c), o)
            }
            None => (None, orchestrator),
        };
        Some(Owner {
            process,
            user: self.users.user(stamp.uid),
            group: self.users.group(stamp.gid),
            container,
            orchestrator,
            netns: netns.map(|id| Netns { id }),
        })
    }

    fn stamp_process(&mut self, stamp: &SocketStamp) -> Arc<Process> {
        let key = (stamp.tgid, stamp.comm.clone());
        if let Some(p) = self.stamp_processes.get(&key) {
            return Arc::clone(p);
        }
        if self.stamp_processes.len() >= STAMP_PROCESSES {
            self.stamp_processes.clear();
        }
        let p = Arc::new(Process {
            pid: stamp.tgid,
            ppid: None,
            name: stamp.comm.clone(),
            executable: None,
            args: Vec::new(),
            start: None,
            cgroup: None,
        });
        self.stamp_processes.insert(key, Arc::clone(&p));
        p
    }

    /// The network namespace of process `tgid`, from `/proc/PID/ns/net` while it runs (read
    /// once per process, then cached): for stamps whose hook could not see the socket's.
    pub fn netns_of(&mut self, tgid: u32) -> Option<u64> {
        let info = self.processes.get(tgid, &mut self.cgroups)?;
        if info.has_exited() {
            return self.netns.cached(info.pid, info.start);
        }
        self.netns.of(info.pid, info.start)
    }

    /// The container of a cgroup id.
    pub fn container_of_cgroup(&mut self, cgroup_id: u64) -> Option<Arc<Container>> {
        self.cgroups.container_of_id(cgroup_id)
    }

    /// The process table.
    pub fn processes(&self) -> &ProcessTable {
        &self.processes
    }

    /// The cgroup resolver.
    pub fn cgroups(&mut self) -> &mut Cgroups {
        &mut self.cgroups
    }

    /// The user and group names.
    pub fn users(&mut self) -> &mut Users {
        &mut self.users
    }
}

/// A container with what its runtime's API said, and its pod with the pod's name.
#[derive(Debug)]
struct Named {
    container: Arc<Container>,
    /// None when the container's cgroup names no pod.
    orchestrator: Option<Arc<Orchestrator>>,
}

/// The pod of a container's cgroup with the name and namespace the runtime answered, when the
/// answer is about that pod (a uid in the answer must be the cgroup's).
fn named_pod(o: Arc<Orchestrator>, answer: &RuntimeAnswer) -> Arc<Orchestrator> {
    let Some(pod) = &answer.pod else {
        return o;
    };
    if pod.uid.as_ref().is_some_and(|uid| *uid != o.resource.id) {
        log::debug!(
            "the runtime's pod {}/{} has uid {:?}, the cgroup's {}: not named",
            pod.namespace,
            pod.name,
            pod.uid,
            o.resource.id
        );
        return o;
    }
    let mut named = (*o).clone();
    named.namespace = Some(pod.namespace.clone());
    named.resource.name = Some(pod.name.clone());
    Arc::new(named)
}

impl OwnerSource for Host {
    fn owner(&mut self, stamp: &SocketStamp) -> Option<Owner> {
        Host::owner(self, stamp)
    }

    fn process(&mut self, tgid: u32) -> Option<Arc<ProcessInfo>> {
        Host::process(self, tgid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procfs::fake::FakeProc;
    use std::os::unix::fs::MetadataExt;

    const DOCKER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn users() -> Users {
        Users::with_lookups(
            Box::new(|uid| Ok((uid == 1000).then(|| "alice".into()))),
            Box::new(|gid| Ok((gid == 100).then(|| "users".into()))),
        )
    }

    /// A fake procfs and cgroup2 tree: a docker container cgroup and a host one.
    struct Fake {
        dir: tempfile::TempDir,
        host: Host,
    }

    impl Fake {
        fn new() -> Fake {
            let dir = tempfile::tempdir().unwrap();
            let proc = dir.path().join("proc");
            let cg = dir.path().join("cgroup");
            std::fs::create_dir_all(proc.join("self")).unwrap();
            std::fs::write(
                proc.join("self/mountinfo"),
                format!("41 31 0:38 / {} rw - cgroup2 cgroup2 rw\n", cg.display()),
            )
            .unwrap();
            std::fs::create_dir_all(cg.join(format!("system.slice/docker-{DOCKER}.scope")))
                .unwrap();
            std::fs::create_dir_all(cg.join("system.slice/sshd.service")).unwrap();
            let config = HostConfig {
                grace: Duration::from_secs(10),
                ..HostConfig::with_procfs(&proc)
            };
            let host = Host::with_parts(config, users(), Clocks::fixed(0, 0, 100));
            Fake { dir, host }
        }

        fn cgroup_id(&self, rel: &str) -> u64 {
            std::fs::metadata(self.dir.path().join("cgroup").join(rel))
                .unwrap()
                .ino()
        }

        fn proc(&self) -> PathBuf {
            self.dir.path().join("proc")
        }
    }

    fn stamp(tgid: u32, cgroup_id: u64) -> SocketStamp {
        SocketStamp {
            tgid,
            uid: 1000,
            gid: 100,
            cgroup_id,
            comm: "curl".into(),
            netns: 4026532001,
        }
    }

    #[test]
    fn finds_the_cgroup2_mount_from_the_injected_procfs() {
        let mut f = Fake::new();
        assert_eq!(
            f.host.cgroups().root(),
            Some(f.dir.path().join("cgroup").as_path())
        );
    }

    #[test]
    fn builds_owners_from_exec_events_and_stamps() {
        let mut f = Fake::new();
        let docker = f.cgroup_id(&format!("system.slice/docker-{DOCKER}.scope"));
        f.host.on_exec(ExecEvent {
            tgid: 77,
            ppid: 1,
            uid: 0,
            gid: 0,
            cgroup_id: docker,
            comm: "curl".into(),
            filename: "/usr/bin/curl".into(),
            args: vec!["curl".into(), "http://example.com/".into()],
            args_truncated: false,
            start_monotonic_ns: 1_000,
            at: Timestamp(2_000),
        });
        let o = f.host.owner(&stamp(77, docker)).unwrap();
        assert_eq!(o.process.name, "curl");
        assert_eq!(o.process.executable.as_deref(), Some("/usr/bin/curl"));
        assert_eq!(o.process.start, Some(Timestamp(1_000)));
        let cg = o.process.cgroup.as_ref().unwrap();
        assert_eq!(cg.id, docker);
        assert_eq!(
            cg.path.as_deref(),
            Some(format!("/system.slice/docker-{DOCKER}.scope").as_str())
        );
        // The stamp's ids, not the process's.
        assert_eq!(
            (o.user.id.as_str(), o.user.name.as_deref()),
            ("1000", Some("alice"))
        );
        assert_eq!(
            (o.group.id.as_str(), o.group.name.as_deref()),
            ("100", Some("users"))
        );
        let c = o.container.as_ref().unwrap();
        assert_eq!(c.id, DOCKER);
        assert_eq!(o.netns.unwrap().id, 4026532001, "the stamp's namespace");
        assert!(o.orchestrator.is_none());
        // Shared, not rebuilt, per flow.
        let again = f.host.owner(&stamp(77, docker)).unwrap();
        assert!(Arc::ptr_eq(&o.process, &again.process));
        assert!(Arc::ptr_eq(c, again.container.as_ref().unwrap()));
        assert_eq!(o, again);
    }

    #[test]
    fn the_stamps_cgroup_wins_and_the_processs_is_the_fallback() {
        let mut f = Fake::new();
        let docker = f.cgroup_id(&format!("system.slice/docker-{DOCKER}.scope"));
        let sshd = f.cgroup_id("system.slice/sshd.service");
        FakeProc {
            pid: 90,
            ppid: 1,
            comm: "sshd",
            exe: Some("/usr/sbin/sshd"),
            cmdline: &["sshd: alice"],
            uid: 0,
            gid: 0,
            start_ticks: 100,
            cgroup: &format!("/system.slice/docker-{DOCKER}.scope"),
        }
        .write(&f.proc());
        let p = f.host.process(90).unwrap();
        assert_eq!(
            p.cgroup_id, docker,
            "the id of a /proc path is its directory's inode"
        );
        // Stamped while in the sshd cgroup: no container.
        assert!(f.host.owner(&stamp(90, sshd)).unwrap().container.is_none());
        // Unknown stamp cgroup: the process's.
        let o = f.host.owner(&stamp(90, 0)).unwrap();
        assert_eq!(o.container.unwrap().id, DOCKER);
    }

    #[test]
    fn on_a_hybrid_host_a_v1_path_names_the_container() {
        let mut f = Fake::new();
        FakeProc {
            pid: 91,
            ppid: 1,
            comm: "nginx",
            exe: Some("/usr/sbin/nginx"),
            cmdline: &["nginx"],
            uid: 0,
            gid: 0,
            start_ticks: 100,
            cgroup: "/system.slice/containerd.service",
        }
        .write(&f.proc());
        // docker's cgroupfs driver on a hybrid host: the container is in the v1 hierarchies.
        std::fs::write(
            f.proc().join("91/cgroup"),
            format!("4:memory:/docker/{DOCKER}\n1:name=systemd:/docker/{DOCKER}\n0::/system.slice/containerd.service\n"),
        )
        .unwrap();
        let o = f.host.owner(&stamp(91, 0)).unwrap();
        assert_eq!(o.container.unwrap().id, DOCKER);
        assert!(o.orchestrator.is_none());
    }

    #[test]
    fn a_gone_unknown_pid_gets_a_minimal_process_from_the_stamp() {
        let mut f = Fake::new();
        let o = f.host.owner(&stamp(12345, 0)).unwrap();
        assert_eq!(o.process.pid, 12345);
        assert_eq!(o.process.name, "curl");
        assert_eq!(o.process.executable, None);
        assert!(o.container.is_none());
        let again = f.host.owner(&stamp(12345, 0)).unwrap();
        assert!(Arc::ptr_eq(&o.process, &again.process));
        assert!(f.host.owner(&stamp(0, 0)).is_none());
    }

    #[test]
    fn exited_processes_attribute_until_the_grace_period_ends() {
        let mut f = Fake::new();
        f.host.on_exec(ExecEvent {
            tgid: 5,
            ppid: 1,
            uid: 1000,
            gid: 100,
            cgroup_id: 0,
            comm: "dig".into(),
            filename: "/usr/bin/dig".into(),
            args: vec![],
            args_truncated: false,
            start_monotonic_ns: 0,
            at: Timestamp(0),
        });
        f.host.on_exit(ExitEvent {
            tgid: 5,
            at: Timestamp(1_000_000_000),
        });
        f.host.expire(Timestamp(5_000_000_000));
        assert_eq!(f.host.owner(&stamp(5, 0)).unwrap().process.name, "dig");
        f.host.expire(Timestamp(11_000_000_000));
        assert_eq!(
            f.host.owner(&stamp(5, 0)).unwrap().process.name,
            "curl",
            "from the stamp"
        );
    }

    #[test]
    fn the_trait_reaches_the_same_tables() {
        let mut f = Fake::new();
        let src: &mut dyn OwnerSource = &mut f.host;
        assert!(src.process(4242).is_none());
        assert_eq!(src.owner(&stamp(4242, 0)).unwrap().process.pid, 4242);
    }

    #[test]
    fn attributes_this_test_process_on_the_real_host() {
        let mut host = Host::new(HostConfig::system());
        let pid = std::process::id();
        let p = host.process(pid).unwrap();
        assert_eq!(p.pid, pid);
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let o = host
            .owner(&SocketStamp {
                tgid: pid,
                uid,
                gid: 0,
                cgroup_id: p.cgroup_id,
                comm: p.comm.clone(),
                netns: 0,
            })
            .unwrap();
        // No namespace in the stamp: the process's own, from procfs.
        assert_eq!(
            o.netns.map(|n| n.id),
            crate::read_netns(std::path::Path::new("/proc"), "self")
        );
        assert_eq!(o.user.id, uid.to_string());
        if uid == 0 {
            assert_eq!(o.user.name.as_deref(), Some("root"));
        }
        assert!(host.scan_procfs() > 0);
    }
}
