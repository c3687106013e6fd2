//! How far a reader has got through its input, shareable with a progress-bar thread.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A cheap, cloneable view of a [`crate::CaptureReader`]'s progress, for showing a progress
/// bar from another thread. Counts the bytes taken from the underlying file or pipe — for a
/// gzip file the compressed bytes, so [`Progress::fraction`] stays right.
#[derive(Debug, Clone)]
pub struct Progress {
    read: Arc<AtomicU64>,
    total: Option<u64>,
}

impl Progress {
    pub(crate) fn new(total: Option<u64>) -> Progress {
        Progress {
            read: Arc::new(AtomicU64::new(0)),
            total,
        }
    }

    /// Bytes taken from the underlying input so far. A read file is read ahead in blocks, so
    /// this runs up to a few hundred KiB ahead of the packets handed out; for a mapped file
    /// it is exactly the end of the last record handed out.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// The input's total size, when known.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total
    }

    /// `bytes_read / total_bytes`, in 0..=1, when the total is known and not zero.
    pub fn fraction(&self) -> Option<f64> {
        match self.total {
            Some(t) if t > 0 => Some((self.bytes_read() as f64 / t as f64).min(1.0)),
            _ => None,
        }
    }

    /// Says `n` bytes were taken (a mapped file, whose reading is the parsers' walk).
    pub(crate) fn set(&self, n: u64) {
        self.read.store(n, Ordering::Relaxed);
    }

    /// Wraps `inner` so that every read is counted here.
    pub(crate) fn counting<R: Read>(&self, inner: R) -> Counting<R> {
        Counting {
            inner,
            read: Arc::clone(&self.read),
        }
    }
}

/// A reader that adds what it reads to a [`Progress`]: one relaxed atomic add per read call
/// (per block of hundreds of KiB), not per packet.
pub(crate) struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
