//! Kernel process start times to wall-clock time.
//!
//! The kernel keeps two start times per task (since Linux 5.5): `start_time`, from
//! `ktime_get_ns()` (CLOCK_MONOTONIC, which stops while the machine is suspended), and
//! `start_boottime` (CLOCK_BOOTTIME, which keeps counting through suspend). Exec events carry
//! the first; `/proc/PID/stat` field 22 is the second, in clock ticks (`sysconf(_SC_CLK_TCK)`,
//! 100 on every Linux ABI).
//!
//! Each is turned into wall time by adding the offset between CLOCK_REALTIME and that clock,
//! measured with `clock_gettime` (the tightest of a few samples read back to back):
//!
//! - BOOTTIME: the offset only moves when the wall clock is stepped, so it is right for a
//!   process started at any time. `/proc/stat`'s `btime` is the same offset rounded to the
//!   second, which would put a process up to a second off; the measured offset is used.
//! - MONOTONIC: the offset grows by the length of every suspend, so a start time converted now
//!   is late by the suspends since the process started. Exec events are converted as they
//!   arrive, a moment after the fork, so the error is nil in practice.
//!
//! [`Clocks::refresh`] measures again (a wall-clock step by NTP, a resume from suspend); the
//! host calls it on every expiry pass.

use flowsight_record::Timestamp;

/// Nanoseconds per second.
const NS: i128 = 1_000_000_000;

/// Offsets from the kernel's clocks to the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clocks {
    /// CLOCK_REALTIME - CLOCK_MONOTONIC, in nanoseconds.
    realtime_minus_monotonic: i128,
    /// CLOCK_REALTIME - CLOCK_BOOTTIME, in nanoseconds.
    realtime_minus_boottime: i128,
    /// Clock ticks per second of `/proc/PID/stat` times.
    ticks_per_second: u64,
    /// Measured from the system (refreshable), or fixed by a test.
    measured: bool,
}

impl Clocks {
    /// Offsets measured from this host's clocks now.
    pub fn system() -> Clocks {
        // SAFETY: sysconf has no memory effects.
        let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Clocks {
            realtime_minus_monotonic: offset(libc::CLOCK_MONOTONIC),
            realtime_minus_boottime: offset(libc::CLOCK_BOOTTIME),
            ticks_per_second: if tck > 0 { tck as u64 } else { 100 },
            measured: true,
        }
    }

    /// Fixed offsets (tests): wall = monotonic + `realtime_minus_monotonic_ns`, wall =
    /// boottime + `realtime_minus_boottime_ns`.
    pub fn fixed(
        realtime_minus_monotonic_ns: i64,
        realtime_minus_boottime_ns: i64,
        ticks_per_second: u64,
    ) -> Clocks {
        Clocks {
            realtime_minus_monotonic: realtime_minus_monotonic_ns.into(),
            realtime_minus_boottime: realtime_minus_boottime_ns.into(),
            ticks_per_second: ticks_per_second.max(1),
            measured: false,
        }
    }

    /// Measure the offsets again (no-op for fixed clocks).
    pub fn refresh(&mut self) {
        if self.measured {
            *self = Clocks::system();
        }
    }

    /// Clock ticks per second of `/proc/PID/stat` times.
    pub fn ticks_per_second(&self) -> u64 {
        self.ticks_per_second
    }

    /// Wall time of a CLOCK_MONOTONIC instant (kernel `task->start_time`).
    pub fn monotonic_to_wall(&self, ns: u64) -> Timestamp {
        to_timestamp(ns as i128 + self.realtime_minus_monotonic)
    }

    /// Wall time of a CLOCK_BOOTTIME instant.
    pub fn boottime_to_wall(&self, ns: u64) -> Timestamp {
        to_timestamp(ns as i128 + self.realtime_minus_boottime)
    }

    /// Wall time of a `/proc/PID/stat` start time (clock ticks since boot, CLOCK_BOOTTIME).
    pub fn ticks_to_wall(&self, ticks: u64) -> Timestamp {
        let ns = ticks as i128 * NS / self.ticks_per_second as i128;
        to_timestamp(ns + self.realtime_minus_boottime)
    }
}

fn to_timestamp(ns: i128) -> Timestamp {
    Timestamp(ns.clamp(0, u64::MAX as i128) as u64)
}

fn now(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec; the clocks used here exist on every supported kernel.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i128 * NS + ts.tv_nsec as i128
}

/// CLOCK_REALTIME - `clock`: the reading of REALTIME between two of `clock` taken closest
/// together, against their midpoint.
fn offset(clock: libc::clockid_t) -> i128 {
    (0..5)
        .map(|_| {
            let a = now(clock);
            let r = now(libc::CLOCK_REALTIME);
            let b = now(clock);
            (b - a, r - (a + (b - a) / 2))
        })
        .min_by_key(|&(gap, _)| gap)
        .map_or(0, |(_, off)| off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_with_fixed_offsets() {
        let c = Clocks::fixed(1_000_000_000_000, 2_000_000_000_000, 100);
        assert_eq!(c.monotonic_to_wall(5), Timestamp(1_000_000_000_005));
        assert_eq!(c.boottime_to_wall(5), Timestamp(2_000_000_000_005));
        assert_eq!(c.ticks_to_wall(150), Timestamp(2_001_500_000_000));
        let mut r = c;
        r.refresh();
        assert_eq!(r, c, "fixed clocks do not move");
    }

    #[test]
    fn system_offsets_put_now_at_now() {
        let c = Clocks::system();
        let wall = Timestamp::now().as_nanos() as i128;
        let mono = c
            .monotonic_to_wall(now(libc::CLOCK_MONOTONIC) as u64)
            .as_nanos() as i128;
        let boot = c
            .boottime_to_wall(now(libc::CLOCK_BOOTTIME) as u64)
            .as_nanos() as i128;
        assert!(
            (mono - wall).abs() < 50_000_000,
            "monotonic off by {}",
            mono - wall
        );
        assert!(
            (boot - wall).abs() < 50_000_000,
            "boottime off by {}",
            boot - wall
        );
        assert_eq!(c.ticks_per_second(), 100);
    }

    #[test]
    fn clamps_instead_of_wrapping() {
        let c = Clocks::fixed(-10, -10, 100);
        assert_eq!(c.monotonic_to_wall(5), Timestamp(0));
    }
}
