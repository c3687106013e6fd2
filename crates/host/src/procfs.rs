//! Reading one process from procfs.
//!
//! A process is read from `/proc/PID/{stat,status,cmdline,exe,cgroup}`. It may exit between
//! any two reads: the first read that finds it gone makes the whole read [`ProcfsError::Gone`],
//! and files that are merely unreadable (`exe` of another user's process without
//! CAP_SYS_PTRACE, kernel threads without an executable) leave their fields empty.

use crate::cgroup::ProcCgroup;
use std::io;
use std::path::{Path, PathBuf};

/// Command line bytes kept from `/proc/PID/cmdline`; the rest is dropped and the process
/// marked as truncated. A few KiB holds nearly every real command line and bounds what one
/// process with a huge argv costs the table.
pub const MAX_ARGS_BYTES: usize = 4096;

/// Errors reading a process from procfs.
#[derive(Debug, thiserror::Error)]
pub enum ProcfsError {
    /// The process does not exist (or exited while being read).
    #[error("process {0} is gone")]
    Gone(u32),
    /// The id is a thread, not a thread group leader.
    #[error("{pid} is a thread of process {tgid}")]
    Thread {
        /// The id asked for.
        pid: u32,
        /// Its thread group.
        tgid: u32,
    },
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file did not have the expected format.
    #[error("{path}: malformed ({what})")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        what: &'static str,
    },
}

/// The fields of `/proc/PID/stat` that attribution uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// Field 2, without its parentheses: the kernel's 15-character `comm`.
    pub comm: String,
    /// Field 3: the state letter (`Z` for a zombie).
    pub state: char,
    /// Field 4.
    pub ppid: u32,
    /// Field 22: start time in clock ticks since boot (CLOCK_BOOTTIME).
    pub start_ticks: u64,
}

impl Stat {
    /// Parse the text of `/proc/PID/stat`. The comm may hold spaces and parentheses, so the
    /// fields after it are counted from its last `)`.
    pub fn parse(text: &str) -> Option<Stat> {
        let open = text.find('(')?;
        let close = text.rfind(')')?;
        let comm = text.get(open + 1..close)?.to_string();
        let mut rest = text.get(close + 1..)?.split_ascii_whitespace();
        let state = rest.next()?.chars().next()?;
        let ppid = rest.next()?.parse().ok()?;
        // Fields 5..=21 are 17 fields; field 22 follows.
        let start_ticks = rest.nth(17)?.parse().ok()?;
        Some(Stat {
            comm,
            state,
            ppid,
            start_ticks,
        })
    }
}

/// The ids of `/proc/PID/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Thread group id.
    pub tgid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
}

impl Status {
    /// Parse the `Tgid:`, `Uid:` and `Gid:` lines (the first of the four ids is the real one,
    /// which is what the kernel events carry).
    pub fn parse(text: &str) -> Option<Status> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_ascii_whitespace().next())
                .and_then(|v| v.parse::<u32>().ok())
        };
        Some(Status {
            tgid: field("Tgid:")?,
            uid: field("Uid:")?,
            gid: field("Gid:")?,
        })
    }
}

/// A process as procfs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcSnapshot {
    /// Process id.
    pub pid: u32,
    /// `/proc/PID/stat` fields.
    pub stat: Stat,
    /// Real uid and gid.
    pub status: Status,
    /// The executable (`exe` link, " (deleted)" removed), when readable.
    pub exe: Option<String>,
    /// Command line arguments.
    pub args: Vec<String>,
    /// True when the command line was longer than [`MAX_ARGS_BYTES`].
    pub args_truncated: bool,
    /// Its cgroups.
    pub cgroup: ProcCgroup,
}

impl ProcSnapshot {
    /// The process name: see [`process_name`].
    pub fn name(&self) -> String {
        process_name(
            &self.stat.comm,
            self.exe.as_deref(),
            self.args.first().map(String::as_str),
        )
    }
}

/// A process's name, not cut to the kernel's 15 characters: the base name of its executable
/// when the comm is a prefix of it (`systemd-resolve` -> `systemd-resolved`), else the base
/// name of `argv[0]` under the same rule (the executable of another user's process cannot be
/// read without CAP_SYS_PTRACE), else the comm itself (a script, whose comm is the script's
/// name; a process that renamed itself; a kernel thread).
pub fn process_name(comm: &str, exe: Option<&str>, argv0: Option<&str>) -> String {
    [exe, argv0]
        .into_iter()
        .flatten()
        .map(basename)
        .find(|b| !comm.is_empty() && b.starts_with(comm))
        .unwrap_or(comm)
        .to_string()
}

/// The last component of a path (`/usr/bin/curl` -> `curl`); the path itself if it has none.
pub fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((_, b)) if !b.is_empty() => b,
        _ if trimmed.is_empty() => path,
        _ => trimmed,
    }
}

/// Split a command line (`/proc/PID/cmdline`, NUL-separated) keeping at most `cap` bytes;
/// the flag says some were dropped.
pub fn parse_cmdline(bytes: &[u8], cap: usize) -> (Vec<String>, bool) {
    let truncated = bytes.len() > cap;
    let bytes = &bytes[..bytes.len().min(cap)];
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return (Vec::new(), truncated);
    }
    let args = bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    (args, truncated)
}

/// The target of `/proc/PID/exe`, without the " (deleted)" the kernel appends when the file
/// was removed or replaced (a package upgrade) after the exec.
pub fn read_exe(procfs: &Path, pid: u32) -> Option<String> {
    let link = std::fs::read_link(procfs.join(pid.to_string()).join("exe")).ok()?;
    let link = link.to_string_lossy();
    Some(link.strip_suffix(" (deleted)").unwrap_or(&link).to_string())
}

/// The kernel's comm of a process, from `/proc/PID/comm`.
pub fn read_comm(procfs: &Path, pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(procfs.join(pid.to_string()).join("comm")).ok()?;
    Some(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

fn read(path: PathBuf, pid: u32) -> Result<Vec<u8>, ProcfsError> {
    std::fs::read(&path).map_err(|source| match source.raw_os_error() {
        // ENOENT: no such pid; ESRCH: it exited while the file was open.
        Some(libc::ENOENT | libc::ESRCH) => ProcfsError::Gone(pid),
        _ => ProcfsError::Io { path, source },
    })
}

/// Read process `pid` from procfs.
pub fn read_process(procfs: &Path, pid: u32) -> Result<ProcSnapshot, ProcfsError> {
    let dir = procfs.join(pid.to_string());
    let stat_path = dir.join("stat");
    let stat_bytes = read(stat_path.clone(), pid)?;
    let stat =
        Stat::parse(&String::from_utf8_lossy(&stat_bytes)).ok_or(ProcfsError::Malformed {
            path: stat_path,
            what: "stat fields",
        })?;
    let status_path = dir.join("status");
    let status_bytes = read(status_path.clone(), pid)?;
    let status =
        Status::parse(&String::from_utf8_lossy(&status_bytes)).ok_or(ProcfsError::Malformed {
            path: status_path,
            what: "Tgid/Uid/Gid lines",
        })?;
    if status.tgid != pid {
        return Err(ProcfsError::Thread {
            pid,
            tgid: status.tgid,
        });
    }
    // A zombie has no command line or executable any more; that is not an error.
    let (args, args_truncated) = match read(dir.join("cmdline"), pid) {
        Ok(bytes) => parse_cmdline(&bytes, MAX_ARGS_BYTES),
        Err(ProcfsError::Gone(p)) => return Err(ProcfsError::Gone(p)),
        Err(_) => (Vec::new(), false),
    };
    let cgroup = match read(dir.join("cgroup"), pid) {
        Ok(bytes) => ProcCgroup::parse(&String::from_utf8_lossy(&bytes)),
        Err(ProcfsError::Gone(p)) => return Err(ProcfsError::Gone(p)),
        Err(_) => ProcCgroup::default(),
    };
    Ok(ProcSnapshot {
        pid,
        exe: read_exe(procfs, pid),
        stat,
        status,
        args,
        args_truncated,
        cgroup,
    })
}

/// The process ids listed in procfs (thread group leaders only: threads are not listed).
pub fn pids(procfs: &Path) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir(procfs) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

#[cfg(test)]
pub(crate) mod fake {
    //! A fake procfs tree for tests.

    use std::fs;
    use std::path::Path;

    /// One fake process.
    pub struct FakeProc<'a> {
        pub pid: u32,
        pub ppid: u32,
        pub comm: &'a str,
        pub exe: Option<&'a str>,
        pub cmdline: &'a [&'a str],
        pub uid: u32,
        pub gid: u32,
        pub start_ticks: u64,
        pub cgroup: &'a str,
    }

    impl FakeProc<'_> {
        /// Write it below `procfs`.
        pub fn write(&self, procfs: &Path) {
            let dir = procfs.join(self.pid.to_string());
            fs::create_dir_all(&dir).unwrap();
            let pid = self.pid;
            let (comm, ppid, start) = (self.comm, self.ppid, self.start_ticks);
            fs::write(
                dir.join("stat"),
                format!(
                    "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 {start} 10000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
                ),
            )
            .unwrap();
            let (uid, gid) = (self.uid, self.gid);
            fs::write(
                dir.join("status"),
                format!(
                    "Name:\t{comm}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{ppid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{gid}\t{gid}\t{gid}\t{gid}\n"
                ),
            )
            .unwrap();
            fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
            let mut cmdline = self.cmdline.join("\0");
            if !cmdline.is_empty() {
                cmdline.push('\0');
            }
            fs::write(dir.join("cmdline"), cmdline).unwrap();
            fs::write(dir.join("cgroup"), format!("0::{}\n", self.cgroup)).unwrap();
            if let Some(exe) = self.exe {
                std::os::unix::fs::symlink(exe, dir.join("exe")).unwrap();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeProc;
    use super::*;

    #[test]
    fn parses_stat_with_a_hostile_comm() {
        let s = Stat::parse(
            "4242 (a) b) (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 858665 10000 100 18446744073709551615 1\n",
        )
        .unwrap();
        assert_eq!(s.comm, "a) b) (c");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 1);
        assert_eq!(s.start_ticks, 858665);
        assert_eq!(Stat::parse("4242 (x) S 1"), None);
        assert_eq!(Stat::parse(""), None);
    }

    #[test]
    fn parses_our_own_stat_and_status() {
        let pid = std::process::id();
        let p = read_process(Path::new("/proc"), pid).unwrap();
        assert_eq!(p.status.tgid, pid);
        // SAFETY: getuid/getgid cannot fail.
        assert_eq!(p.status.uid, unsafe { libc::getuid() });
        assert_eq!(p.status.gid, unsafe { libc::getgid() });
        assert!(p.stat.start_ticks > 0);
        assert!(!p.args.is_empty());
        assert!(p.exe.is_some());
    }

    #[test]
    fn names_processes_beyond_15_characters() {
        assert_eq!(
            process_name(
                "systemd-resolve",
                Some("/usr/lib/systemd/systemd-resolved"),
                None
            ),
            "systemd-resolved"
        );
        // An interpreter: the exe is the interpreter, argv[0] says more than the comm.
        assert_eq!(
            process_name("python3", Some("/usr/bin/python3.11"), Some("python3")),
            "python3.11"
        );
        // A script through a shebang: the comm is the script's name; keep it.
        assert_eq!(
            process_name("backup.sh", Some("/usr/bin/bash"), Some("/bin/bash")),
            "backup.sh"
        );
        // Exe unreadable (another user's process): argv[0].
        assert_eq!(
            process_name(
                "kube-controller",
                None,
                Some("/usr/local/bin/kube-controller-manager")
            ),
            "kube-controller-manager"
        );
        // A process that renamed itself, and a kernel thread.
        assert_eq!(
            process_name(
                "worker",
                Some("/usr/sbin/nginx"),
                Some("nginx: worker process")
            ),
            "worker"
        );
        assert_eq!(process_name("kworker/0:1", None, None), "kworker/0:1");
        assert_eq!(process_name("", Some("/bin/x"), None), "");
    }

    #[test]
    fn basenames() {
        assert_eq!(basename("/usr/bin/curl"), "curl");
        assert_eq!(basename("curl"), "curl");
        assert_eq!(basename("./run.sh"), "run.sh");
        assert_eq!(basename("/usr/bin/"), "bin");
        assert_eq!(basename("/"), "/");
        assert_eq!(basename(""), "");
    }

    #[test]
    fn splits_and_caps_command_lines() {
        assert_eq!(
            parse_cmdline(b"curl\0-s\0http://x/\0", 100),
            (vec!["curl".into(), "-s".into(), "http://x/".into()], false)
        );
        assert_eq!(parse_cmdline(b"", 100), (vec![], false));
        assert_eq!(
            parse_cmdline(b"a\0\0b\0", 100),
            (vec!["a".into(), "".into(), "b".into()], false)
        );
        assert_eq!(parse_cmdline(b"abcdef\0", 3), (vec!["abc".into()], true));
        // setproctitle: one argument with spaces and no NUL.
        assert_eq!(
            parse_cmdline(b"postgres: checkpointer", 100),
            (vec!["postgres: checkpointer".into()], false)
        );
    }

    #[test]
    fn reads_a_fake_process_and_rejects_threads_and_gone_ones() {
        let dir = tempfile::tempdir().unwrap();
        FakeProc {
            pid: 10,
            ppid: 1,
            comm: "nginx",
            exe: Some("/usr/sbin/nginx (deleted)"),
            cmdline: &["nginx: master process /usr/sbin/nginx"],
            uid: 0,
            gid: 0,
            start_ticks: 500,
            cgroup: "/system.slice/nginx.service",
        }
        .write(dir.path());
        let p = read_process(dir.path(), 10).unwrap();
        assert_eq!(p.exe.as_deref(), Some("/usr/sbin/nginx"));
        assert_eq!(p.name(), "nginx");
        assert_eq!(p.stat.start_ticks, 500);
        assert_eq!(
            p.cgroup.unified.as_deref(),
            Some("/system.slice/nginx.service")
        );
        assert!(matches!(
            read_process(dir.path(), 11),
            Err(ProcfsError::Gone(11))
        ));
        std::fs::create_dir(dir.path().join("12")).unwrap();
        std::fs::copy(dir.path().join("10/stat"), dir.path().join("12/stat")).unwrap();
        std::fs::copy(dir.path().join("10/status"), dir.path().join("12/status")).unwrap();
        assert!(matches!(
            read_process(dir.path(), 12),
            Err(ProcfsError::Thread { pid: 12, tgid: 10 })
        ));
        std::fs::write(dir.path().join("12/stat"), "garbage").unwrap();
        assert!(matches!(
            read_process(dir.path(), 12),
            Err(ProcfsError::Malformed { .. })
        ));
        let mut listed = pids(dir.path());
        listed.sort();
        assert_eq!(listed, vec![10, 12]);
    }
}
