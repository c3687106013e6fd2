//! What the capture crate's root tests share.

/// True as root. Otherwise the test is skipped loudly, or fails when
/// `FLOWSIGHT_REQUIRE_ROOT_TESTS=1` (CI) says root tests must run.
pub fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("FLOWSIGHT_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
        panic!("{test}: root tests are required but this is not root");
    }
    // Straight to the stderr handle: libtest captures eprintln! of passing tests, and a skip
    // must be seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIP (not root): {test} needs root to load BPF programs"
    );
    false
}
