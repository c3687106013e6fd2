//! Numbers as the table shows them: bytes in binary units, so a column of them stays narrow.

/// `512 B`, `1.5 KiB`, `20.0 MiB`, ...: exact below 1 KiB, one decimal above.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    // Round first so 1023.96 KiB reads 1.0 MiB, not 1024.0 KiB.
    while (v * 10.0).round() / 10.0 >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// A rate in bytes per second: `0 B/s`, `1.2 MiB/s`.
pub fn rate(bytes_per_sec: f64) -> String {
    format!("{}/s", bytes(bytes_per_sec.max(0.0).round() as u64))
}

/// Seconds with the precision they deserve: `1.0 s`, `0.07 s`, `3600 s`.
pub fn seconds(s: f64) -> String {
    if s >= 100.0 {
        format!("{s:.0} s")
    } else if s >= 0.995 {
        format!("{s:.1} s")
    } else {
        format!("{s:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(bytes(u64::MAX), "16.0 EiB");
        assert_eq!(rate(999.6), "1000 B/s");
        assert_eq!(rate(-1.0), "0 B/s");
        assert_eq!(seconds(0.07), "0.07 s");
        assert_eq!(seconds(1.0), "1.0 s");
        assert_eq!(seconds(0.998), "1.0 s");
    }
}
