//! Wall-clock timestamps as ECS writes them: RFC 3339 in UTC with nanoseconds.

use serde::{Serialize, Serializer};
use std::cell::Cell;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in wall-clock time, in nanoseconds since the Unix epoch.
///
/// Serialized as an RFC 3339 UTC string with nanosecond precision
/// (`2026-11-22T07:37:05.123456789Z`), the form Elasticsearch's `date_nanos` type and
/// OpenTelemetry's time fields accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// Nanoseconds since the Unix epoch.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Nanoseconds from `earlier` to `self`, zero when `earlier` is later.
    pub fn nanos_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// The time `d` after this one (saturating).
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.as_nanos() as u64))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        // Times before 1970 do not occur in captures or on a running host; clamp instead of
        // failing so a bad clock never stops logging.
        Timestamp(
            t.duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        )
    }
}

impl Timestamp {
    /// The RFC 3339 form, `2026-11-22T07:37:05.123456789Z`, written digit by digit: it is
    /// on the output path of every record, where `write!` with padding cost ~2,000
    /// instructions per timestamp. The date and time of day are kept for the last second
    /// seen (per thread): records come in time order, most in the same second as the one
    /// before, and the calendar arithmetic was half of the ~170 instructions left.
    pub fn rfc3339(self) -> [u8; 30] {
        thread_local! {
            static LAST_SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
        }
        let secs = self.0 / 1_000_000_000;
        let nanos = self.0 % 1_000_000_000;
        let head = LAST_SECOND.with(|last| {
            let (s, head) = last.get();
            if s == secs {
                return head;
            }
            let head = date_and_time(secs);
            last.set((secs, head));
            head
        });
        let mut b = *b"0000-00-00T00:00:00.000000000Z";
        b[..19].copy_from_slice(&head);
        let rest = nanos % 100_000_000;
        two_digits(&mut b, 21, rest / 1_000_000);
        two_digits(&mut b, 23, rest / 10_000);
        two_digits(&mut b, 25, rest / 100);
        two_digits(&mut b, 27, rest);
        b[20] = b'0' + (nanos / 100_000_000) as u8;
        b
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a second since the Unix epoch.
fn date_and_time(secs: u64) -> [u8; 19] {
    let secs = secs as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u64;
    let mut b = *b"0000-00-00T00:00:00";
    // Years past 9999 do not fit RFC 3339; u64 nanoseconds end in 2554 anyway.
    let y = y.clamp(0, 9999) as u64;
    two_digits(&mut b, 0, y / 100);
    two_digits(&mut b, 2, y);
    two_digits(&mut b, 5, u64::from(mo));
    two_digits(&mut b, 8, u64::from(d));
    two_digits(&mut b, 11, sod / 3600);
    two_digits(&mut b, 14, (sod / 60) % 60);
    two_digits(&mut b, 17, sod % 60);
    b
}

/// `v % 100` as two digits at `b[at..at + 2]`, from a table: half the divisions of digit by
/// digit.
fn two_digits(b: &mut [u8], at: usize, v: u64) {
    let i = (v % 100) as usize * 2;
    b[at] = DIGIT_PAIRS[i];
    b[at + 1] = DIGIT_PAIRS[i + 1];
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.rfc3339();
        // Only ASCII digits and separators were written.
        f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.rfc3339();
        s.serialize_str(std::str::from_utf8(&b).map_err(serde::ser::Error::custom)?)
    }
}

/// "00" to "99", each number's two digits at its index times two.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm). Written
/// out because it runs once per timestamp on the output path and a calendar crate would be a
/// dependency for twelve lines.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_nanos() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000000Z");
        // 2026-11-22T07:37:05.000000001Z, checked with `date -u -d @1795333025`.
        assert_eq!(
            Timestamp(1_795_333_025_000_000_001).to_string(),
            "2026-11-22T07:37:05.000000001Z"
        );
        // A leap day.
        assert_eq!(
            Timestamp(951_782_400_000_000_000).to_string(),
            "2000-02-29T00:00:00.000000000Z"
        );
    }

    #[test]
    fn every_digit_place_takes_every_digit() {
        // Nanoseconds and seconds with each digit place running through 0..=9.
        for k in 0..10u64 {
            let nanos = k * 111_111_110 + 1; // never zero: the time crate drops a zero fraction
            let secs = 1_700_000_000 + k * 3_661 + k * 86_400 * 397;
            let t = Timestamp(secs * 1_000_000_000 + nanos);
            let theirs = ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0))
                .unwrap()
                .format(&::time::format_description::well_known::Rfc3339)
                .unwrap();
            assert_eq!(t.to_string(), theirs);
        }
    }

    #[test]
    fn agrees_with_the_time_crate_over_a_range() {
        for secs in (0..4_102_444_800i64).step_by(7_777_777) {
            let ours = Timestamp(secs as u64 * 1_000_000_000 + 5).to_string();
            let theirs =
                ::time::OffsetDateTime::from_unix_timestamp_nanos(secs as i128 * 1_000_000_000 + 5)
                    .unwrap()
                    .format(&::time::format_description::well_known::Rfc3339)
                    .unwrap();
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn the_kept_second_is_used_only_for_its_own_second() {
        let theirs = |t: Timestamp| {
            ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0))
                .unwrap()
                .format(&::time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        // Same second twice, the next second, back to the first, a day later, 1970.
        let sec = 1_000_000_000u64;
        for t in [
            1_700_000_000 * sec + 1,
            1_700_000_000 * sec + 999_999_999,
            1_700_000_001 * sec + 7,
            1_700_000_000 * sec + 3,
            1_700_086_400 * sec + 3,
            1,
            1_700_000_000 * sec + 11,
        ] {
            assert_eq!(Timestamp(t).to_string(), theirs(Timestamp(t)), "{t}");
        }
    }
}
