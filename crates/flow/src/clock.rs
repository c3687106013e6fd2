//! Turning the kernel's monotonic nanoseconds into wall-clock timestamps.

use flowsight_record::Timestamp;

/// Maps a nanosecond timeline (CLOCK_MONOTONIC for live capture, the capture's own
/// timestamps when reading a file) to wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    offset_ns: i128,
}

fn clock_ns(id: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec; both clocks always exist on Linux.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

impl Clock {
    /// For the kernel's CLOCK_MONOTONIC (bpf_ktime_get_ns): wall = monotonic + (REALTIME -
    /// MONOTONIC), sampled once now. A later step of the wall clock (NTP) is not followed,
    /// which keeps durations right.
    pub fn monotonic() -> Clock {
        let real = clock_ns(libc::CLOCK_REALTIME);
        let mono = clock_ns(libc::CLOCK_MONOTONIC);
        Clock {
            offset_ns: real - mono,
        }
    }

    /// The timeline already is wall-clock time (capture files).
    pub fn identity() -> Clock {
        Clock { offset_ns: 0 }
    }

    /// Wall-clock time of a timeline instant.
    pub fn wall(&self, ns: u64) -> Timestamp {
        Timestamp((ns as i128 + self.offset_ns).max(0) as u64)
    }

    /// The current instant on the CLOCK_MONOTONIC timeline.
    pub fn now_monotonic() -> u64 {
        clock_ns(libc::CLOCK_MONOTONIC) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_now_maps_to_about_now() {
        let c = Clock::monotonic();
        let wall = c.wall(Clock::now_monotonic());
        let now = Timestamp::now();
        assert!(now.nanos_since(wall) < 1_000_000_000 && wall.nanos_since(now) < 1_000_000_000);
    }
}
