//! The real binary in a real terminal: a private tmux server runs one program in a session,
//! keys go in with `tmux send-keys`, the screen comes back with `tmux capture-pane`.
//!
//! Everything is torn down on drop, failure included: the server is killed (the program gets
//! SIGHUP, and SIGKILL if it has not gone 5 s later) and the scratch directory removed, with
//! the server's socket in it (tmux leaves its socket behind).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The session every test runs its program in.
const SESSION: &str = "top";

/// A tmux server of one test alone (its own socket) and that test's scratch directory.
pub struct Tmux {
    /// The server's socket: in the scratch directory, since tmux leaves it behind.
    socket: PathBuf,
    dir: PathBuf,
    errors: PathBuf,
    /// The program in the pane (`exec`'d by the pane's shell), once started.
    pid: Option<i32>,
    /// How long [`Tmux::wait_for`] waits.
    pub timeout: Duration,
}

impl Tmux {
    /// A server for `test`, not started yet, with an empty scratch directory; `None` after a
    /// loud `SKIP (no tmux)` where tmux is missing.
    pub fn new(test: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            let _ = writeln!(
                std::io::stderr(),
                "SKIP (no tmux): {test} needs tmux to run flowsight top in a terminal"
            );
            return None;
        }
        // Short: a socket's path has at most 107 bytes.
        let dir = std::env::temp_dir().join(super::unique("flowsight-tmux-"));
        std::fs::create_dir_all(&dir).unwrap();
        Some(Tmux {
            socket: dir.join("tmux.sock"),
            errors: dir.join("stderr.txt"),
            dir,
            pid: None,
            timeout: Duration::from_secs(10),
        })
    }

    /// The scratch directory (removed on drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `command` (a shell command line; its stderr goes to a file, see
    /// [`Tmux::stderr`]) as the only pane of a `width`x`height` session. The pane's process
    /// is the program itself (`exec`).
    pub fn start(&mut self, width: u16, height: u16, command: &str) {
        let line = format!("exec {command} 2>{}", self.errors.display());
        let (w, h) = (width.to_string(), height.to_string());
        let started = self.cmd(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            &w,
            "-y",
            &h,
            &line,
        ]);
        assert!(
            started.status.success(),
            "{}",
            String::from_utf8_lossy(&started.stderr)
        );
        // Gone already: it failed at once (the session ends with its only pane).
        match self.try_pane_pid() {
            Some(pid) => self.pid = Some(pid),
            None => panic!("`{command}` exited at once:\n{}", self.stderr()),
        }
    }

    /// Runs tmux on this test's server.
    pub fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("running tmux")
    }

    /// The pid of the pane's process.
    pub fn pane_pid(&self) -> i32 {
        self.try_pane_pid().expect("the pane's pid")
    }

    fn try_pane_pid(&self) -> Option<i32> {
        let out = self.cmd(&["display-message", "-p", "-t", SESSION, "#{pane_pid}"]);
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", SESSION]).stdout).into()
    }

    /// Sends keys (tmux key names, or text after `-l`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend(keys);
        let out = self.cmd(&args);
        assert!(out.status.success(), "send-keys {keys:?}: {out:?}");
    }

    /// True while the session (and so the program) is there.
    pub fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", SESSION]).status.success()
    }

    /// What the program wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.errors).unwrap_or_default()
    }

    /// Polls the screen until it satisfies `ok` and returns it; panics with the screen and
    /// the program's stderr when it does not within [`Tmux::timeout`].
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "the screen never showed {what} (in {:?}):\n{s}\nstderr:\n{}",
                    self.timeout,
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the session is gone (the program exited) and then the program's process
    /// too; panics with the screen if either takes longer than [`Tmux::timeout`].
    pub fn wait_gone(&self) {
        let deadline = Instant::now() + self.timeout;
        while self.alive() {
            assert!(
                Instant::now() < deadline,
                "still running after {:?}:\n{}",
                self.timeout,
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(pid) = self.pid {
            while process_exists(pid) {
                assert!(
                    Instant::now() < deadline,
                    "the session ended but process {pid} still runs"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// True while `pid` exists (a zombie counts: tmux reaps it).
pub fn process_exists(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
        if let Some(pid) = self.pid {
            // SIGHUP (the terminal went away) must end it; if it does not, do not leave it.
            let deadline = Instant::now() + Duration::from_secs(5);
            while process_exists(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if process_exists(pid) {
                // SAFETY: the pane's process, started by this test.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        if std::thread::panicking() {
            // Log lines written at exit: the clue to a failure that the screen lacks.
            let _ = writeln!(
                std::io::stderr(),
                "program's stderr after the test failed:\n{}",
                self.stderr()
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The line of `screen` that contains `needle`.
pub fn line<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{screen}"))
}
