//! The event loop of `flowsight top`: draw, wait for a key or the next refresh, repeat.
//!
//! It draws only when something changed: a key, a resize, the model closing a rate window,
//! or once a second (so a replay's progress shows); ratatui then writes only the cells that
//! differ from the last frame, so there is no flicker.

use super::app::App;
use super::group::Grouping;
use super::input;
use super::model::Model;
use super::sink::lock;
use super::terminal::{self, TerminalGuard};
use super::view;
use crossterm::event::{self, Event};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, BufWriter};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Redraw at least this often.
const REFRESH: Duration = Duration::from_secs(1);
/// Longest wait for a key before looking at the model and the stop flag again.
const POLL: Duration = Duration::from_millis(100);

/// Show `model` until the user quits (q, Ctrl-C) or `stop` is set (a signal, or the pipeline
/// ended), starting grouped by `grouping`; `status` says where the records come from. The
/// terminal is restored on return, error or panic.
pub fn run(
    model: &Mutex<Model>,
    stop: &AtomicBool,
    grouping: Grouping,
    status: &dyn Fn() -> String,
) -> io::Result<()> {
    let _guard = TerminalGuard::enter()?;
    // One write per frame instead of one per line.
    let backend = CrosstermBackend::new(BufWriter::with_capacity(1 << 16, io::stdout()));
    let mut term = Terminal::new(backend)?;
    term.clear()?;
    let mut app = App::new(grouping);
    let mut dirty = true;
    let mut drawn_ticks = u64::MAX;
    let mut next_refresh = Instant::now();
    while !app.quit && !stop.load(Ordering::Relaxed) && !terminal::panicked() {
        let ticks = lock(model).ticks();
        if dirty || ticks != drawn_ticks || Instant::now() >= next_refresh {
            let text = status();
            // Header, footer and the table's own header line.
            app.page = usize::from(term.size()?.height.saturating_sub(4)).max(1);
            term.draw(|f| view::draw(f, &app, &lock(model), &text))?;
            dirty = false;
            drawn_ticks = ticks;
            next_refresh = Instant::now() + REFRESH;
        }
        let wait = next_refresh
            .saturating_duration_since(Instant::now())
            .min(POLL);
        // Wait on the terminal ourselves: once it hangs up (the tmux or ssh session is
        // gone), crossterm's poll keeps reading end-of-file and never returns.
        if matches!(terminal_input(wait), Input::HungUp) {
            break;
        }
        // Every event crossterm has: what just came, and what an earlier read buffered
        // (several keys arrive in one read; the terminal's fd no longer shows them).
        while event::poll(Duration::ZERO)? {
            match event::read()? {
                Event::Key(key) => {
                    if let Some(a) = input::action(key, app.prompting()) {
                        app.apply(a, &lock(model));
                        dirty = true;
                    }
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
    Ok(())
}

/// What the terminal has for us.
enum Input {
    /// Nothing new within the wait.
    None,
    /// Bytes to read.
    Ready,
    /// The terminal is gone: nothing will ever come again.
    HungUp,
}

/// Waits up to `wait` for input on the terminal (standard input, which crossterm reads when
/// it is a terminal, as `flowsight top` requires).
fn terminal_input(wait: Duration) -> Input {
    let mut fd = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut fd, 1, ms) };
    if n <= 0 {
        // A timeout, or a signal (EINTR): the caller looks at the stop flag again.
        return Input::None;
    }
    if fd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        Input::HungUp
    } else {
        Input::Ready
    }
}
