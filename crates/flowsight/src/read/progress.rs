//! The progress bar of `flowsight read`, on stderr when it is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A byte-count progress bar, or nothing (stderr not a terminal, `--no-progress`, or an
/// input of unknown size such as a pipe).
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// A bar for `total` bytes of input.
    pub fn new(enabled: bool, total: Option<u64>) -> Bar {
        let Some(total) = total.filter(|_| enabled && std::io::stderr().is_terminal()) else {
            return Bar(None);
        };
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(4));
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Bar(Some(bar))
    }

    /// Bytes of input read so far.
    pub fn set(&self, bytes: u64) {
        if let Some(b) = &self.0 {
            b.set_position(bytes);
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
