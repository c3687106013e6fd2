//! The terminal in raw mode on the alternate screen, and back to normal on every way out:
//! the guard's drop (return, error, unwinding) and a panic hook, which restores it before the
//! panic message is printed so the message is readable and the shell usable.

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use std::io;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// The terminal is in raw mode on the alternate screen.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Some thread panicked while the view was up (the view stops drawing).
static PANICKED: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Holds the terminal in raw mode on the alternate screen until dropped.
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Raw mode, alternate screen, cursor hidden; the panic hook installed.
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        if let Err(e) = execute!(io::stdout(), EnterAlternateScreen, Hide) {
            restore();
            return Err(e);
        }
        Ok(TerminalGuard { _private: () })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave the alternate screen, show the cursor, leave raw mode; does nothing if that was
/// done already, so every exit path may call it.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        // Best effort: on the way out there is nobody to report a failure to.
        let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
    }
}

/// True once any thread panicked with the view up: the terminal is restored, and drawing
/// again would scribble over the panic message.
pub fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            restore();
            previous(info);
        }));
    });
}
