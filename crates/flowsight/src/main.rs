//! flowsight: network flows bound to the processes, users and containers that made them.
//!
//! The binary holds the command line and the wiring between the library crates; see
//! ARCHITECTURE.md for the data path.

mod capture;
mod check;
mod cli;
mod error_text;
mod live;
mod read;
mod serve;
mod top;

use clap::Parser;
use cli::{Cli, Command};

// Records are built from many small strings; mimalloc handles that allocation pattern about
// twice as fast as glibc's allocator (measured on `flowsight read`, benches/README.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// No transparent huge pages for this process's heap. mimalloc asks for them (`madvise`),
/// and as it returns freed memory to the kernel and takes it back, each 2 MiB page is zeroed
/// again: `flowsight read` on 1.5M packets zeroed ~2 GiB for a 165 MiB peak and spent
/// 10-25% of its time in the kernel's `clear_page`, with a wide spread between runs.
/// With 4 KiB pages the run is faster and steady (docs/benchmarks.md, run E). The flag is the
/// process's own and overrides `madvise`; mimalloc is also built without its `madvise`
/// (its `no_thp` feature), because the runtime allocates before `main`: its first arena got
/// two huge pages, and zeroing them cost 30-50 ms of a short run's first start on this VM.
/// From Linux 6.18 the flag can leave alone what the process advises huge itself, and does:
/// the flow table's block (flow crate's huge_pages.rs) and a mapped capture file (read in
/// huge pages where the page cache holds it in them: pcapfile's reader.rs), each 4-11% of a
/// read's time (docs/benchmarks.md, run P). An earlier kernel refuses that: then nothing
/// gets huge pages, as before.
fn no_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        // <linux/prctl.h>; the libc crate does not have it yet. The kernel reads every
        // argument as an unsigned long (and from 6.18 refuses non-zero unused ones): pass
        // them as such, not as the 32-bit integers a bare literal becomes in a variadic call.
        const PR_THP_DISABLE_EXCEPT_ADVISED: libc::c_ulong = 1 << 1;
        let (on, none): (libc::c_ulong, libc::c_ulong) = (1, 0);
        if libc::prctl(
            libc::PR_SET_THP_DISABLE,
            on,
            PR_THP_DISABLE_EXCEPT_ADVISED,
            none,
            none,
        ) != 0
        {
            libc::prctl(libc::PR_SET_THP_DISABLE, on, none, none, none);
        }
    }
}

/// Give the memory freed since start-up back to the kernel now. Loading the BPF programs
/// parses the kernel's BTF (tens of MiB, freed at once), and mimalloc returns freed memory
/// only as it allocates more: a live capture idling on a quiet host kept ~40 MiB it no
/// longer used (82 MiB resident instead of 45).
pub(crate) fn release_freed_memory() {
    // SAFETY: mi_collect only walks the allocator's own free lists; no pointer of ours is
    // involved, and it may be called at any time from any thread.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}

fn main() {
    no_huge_pages();
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level));
    logger.format_target(false);
    if let Command::Top(_) = &cli.command {
        // Not onto the screen top draws: kept and printed on exit.
        logger.target(top::log_target());
    }
    logger.init();
    let result = match &cli.command {
        Command::Live(args) => args.resolve().and_then(|cfg| live::run(&cfg)).map(|()| 0),
        Command::Check(args) => check::run(args),
        Command::Read(args) => args.resolve().and_then(|cfg| read::run(&cfg)).map(|()| 0),
        Command::Top(args) => args.resolve().and_then(|cfg| top::run(&cfg)).map(|()| 0),
        Command::Capture(args) => args
            .resolve()
            .and_then(|cfg| capture::run(&cfg))
            .map(|()| 0),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // One line: the error and its causes, as `a: b: c`.
            eprintln!("flowsight: error: {}", error_text::chain(e.as_ref()));
            std::process::exit(1);
        }
    }
}
