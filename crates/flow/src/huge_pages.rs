//! The flow table's allocator: its large blocks (the flow store's slab and index) in huge
//! pages, where the kernel gives them.
//!
//! Every packet looks its flow up among tens of thousands of flows (192 bytes each, ~12 MiB
//! at 60,000 flows): in 4 KiB pages nearly every lookup misses the TLB too,
//! and the page walk adds to the cache miss. In 2 MiB pages the whole table is a few TLB
//! entries: 3-4% less time for `flowsight read` on the synthetic capture, one thread or two
//! (docs/benchmarks.md, run P). The process keeps transparent huge pages off for its heap
//! (main.rs: the allocator's churn zeroed them again and again) except where it asks for
//! them, which is here: a block of 2 MiB or more is mapped on its own and advised huge; a
//! smaller one comes from the global allocator. Where huge pages are off, unavailable or
//! refused, the block is an ordinary mapping. A mapped block that grows is remapped: its
//! pages move, its bytes are not copied.

use allocator_api2::alloc::{AllocError, Allocator, Global, Layout};
use std::ptr::NonNull;

/// A huge page; blocks from this size on are mapped apart. (A live capture's table reaches
/// it at ~10,000 flows; a fault in a block advised huge may compact memory to find a huge
/// page, which the kernel's `defrag` setting bounds.)
const HUGE: usize = 2 << 20;

/// Alignments a mapping gives (it starts on a page).
const PAGE: usize = 4096;

/// See the module's documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct HugePages;

impl HugePages {
    /// True for a block this allocator maps itself, false for one the global allocator
    /// holds: the same answer for the same layout, so a block goes back where it came from.
    /// (Only on Linux: elsewhere every block is the global allocator's.)
    fn maps(layout: Layout) -> bool {
        cfg!(target_os = "linux") && layout.size() >= HUGE && layout.align() <= PAGE
    }
}

/// A mapped block's length: whole huge pages (the kernel places a mapping of whole huge
/// pages on a huge page boundary, so that it can be backed by them).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn mapped_len(size: usize) -> usize {
    size.div_ceil(HUGE) * HUGE
}

#[allow(unsafe_code)]
// SAFETY: a block is either the global allocator's (given back to it) or a whole private
// anonymous mapping of `mapped_len(size)` bytes: page-aligned (every alignment `maps`
// takes), readable and writable, owned by the caller alone until `deallocate` unmaps it with
// the layout it was allocated with.
unsafe impl Allocator for HugePages {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        #[cfg(target_os = "linux")]
        if HugePages::maps(layout) {
            return map(mapped_len(layout.size()));
        }
        Global.allocate(layout)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        #[cfg(target_os = "linux")]
        if HugePages::maps(layout) {
            // (hashbrown fills the whole block it is given and gives it back with a layout of
            // that fuller size: a size between the one asked for and the mapped length, so
            // the same mapped length.)
            // SAFETY: the whole mapping `allocate` made for this layout.
            unsafe { unmap(ptr, mapped_len(layout.size())) };
            return;
        }
        // SAFETY: the global allocator's block, of this layout (`allocate`).
        unsafe { Global.deallocate(ptr, layout) };
    }

    /// A mapped block grows where it is or moves whole (`mremap`): its pages change place,
    /// its bytes are neither copied nor zeroed again (the flow store's slab grows so). The
    /// global allocator's block grows by its own `realloc`; one that outgrows it is copied
    /// into a new mapping.
    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        #[cfg(target_os = "linux")]
        if HugePages::maps(old) && HugePages::maps(new) {
            // SAFETY: the caller's: `ptr` is the live mapping `allocate` made for `old`.
            return unsafe { remap(ptr, mapped_len(old.size()), mapped_len(new.size())) };
        }
        if !HugePages::maps(old) && !HugePages::maps(new) {
            // SAFETY: the caller's, and the block is the global allocator's (`allocate`).
            return unsafe { Global.grow(ptr, old, new) };
        }
        let block = self.allocate(new)?;
        // SAFETY: the caller's: `ptr` holds `old.size()` bytes, at most `new.size()`, and is
        // a live block of this allocator for `old`; the new block is another one.
        unsafe {
            std::ptr::copy_nonoverlapping(ptr.as_ptr(), block.cast::<u8>().as_ptr(), old.size());
            self.deallocate(ptr, old);
        }
        Ok(block)
    }
}

/// A new private anonymous mapping of `len` bytes, advised huge.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn map(len: usize) -> Result<NonNull<[u8]>, AllocError> {
    // SAFETY: a new private anonymous mapping; no memory of the program is touched.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(AllocError);
    }
    // Advice only: refused, the block is in ordinary pages.
    // SAFETY: the range is the mapping just made.
    let _ = unsafe { libc::madvise(p, len, libc::MADV_HUGEPAGE) };
    let p = NonNull::new(p.cast::<u8>()).ok_or(AllocError)?;
    Ok(NonNull::slice_from_raw_parts(p, len))
}

/// Grows a block [`map`] made from `old_len` bytes to `new_len`, in place or moved.
///
/// # Safety
/// `ptr` and `old_len` are a mapping `map` (or this) returned, not unmapped yet. On success
/// it is the returned block's, and `ptr` is not used again; on failure it is unchanged.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
unsafe fn remap(
    ptr: NonNull<u8>,
    old_len: usize,
    new_len: usize,
) -> Result<NonNull<[u8]>, AllocError> {
    if new_len <= old_len {
        return Ok(NonNull::slice_from_raw_parts(ptr, old_len));
    }
    // SAFETY: the caller's; the kernel moves the pages, keeps the mapping's advice, and on
    // failure leaves it as it was.
    let p = unsafe { libc::mremap(ptr.as_ptr().cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
    if p == libc::MAP_FAILED {
        return Err(AllocError);
    }
    let p = NonNull::new(p.cast::<u8>()).ok_or(AllocError)?;
    Ok(NonNull::slice_from_raw_parts(p, new_len))
}

/// Unmaps a block [`map`] made.
///
/// # Safety
/// `ptr` and `len` are a mapping `map` returned, not unmapped yet, and no reference into it
/// is used again.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the caller's. An error would leave the block mapped, which is only memory.
    let _ = unsafe { libc::munmap(ptr.as_ptr().cast(), len) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small and large blocks, written through and given back; a table on the allocator
    /// grows past the huge size and keeps every entry.
    #[test]
    fn blocks_of_every_size_hold_what_is_written() {
        for size in [1, 64, HUGE - 1, HUGE, HUGE + 1, 3 * HUGE] {
            let layout = Layout::from_size_align(size, 64).unwrap();
            let block = HugePages.allocate(layout).unwrap();
            assert!(block.len() >= size);
            let p = block.cast::<u8>().as_ptr();
            assert_eq!(p as usize % 64, 0);
            #[allow(unsafe_code)]
            // SAFETY: `size` bytes were just allocated, and are given back once.
            unsafe {
                p.write_bytes(0xa5, size);
                assert_eq!(*p.add(size - 1), 0xa5);
                HugePages.deallocate(block.cast(), layout);
            }
        }
        let mut t = hashbrown::HashTable::new_in(HugePages);
        let hash = |x: &u64| x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for x in 0..200_000u64 {
            t.insert_unique(hash(&x), x, hash);
        }
        assert!((0..200_000u64).all(|x| t.find(hash(&x), |y| *y == x).is_some()));
    }

    /// A vector on the allocator grows from the global allocator's blocks into mapped ones
    /// and, remapped, through several huge pages, keeping every element.
    #[test]
    fn a_growing_vector_keeps_its_elements() {
        let mut v = allocator_api2::vec::Vec::new_in(HugePages);
        for x in 0..3_000_000u64 {
            v.push(x.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        assert!(v.capacity() * 8 >= 3 * HUGE);
        assert!(
            v.iter()
                .enumerate()
                .all(|(i, x)| *x == (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        );
    }
}
