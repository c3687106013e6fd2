//! The flow table's storage: every open flow, found by its key.
//!
//! Flows live in a slab (one array; a removed flow's slot is reused, through a free list)
//! and a hash index maps each key to its slot. Flows used to live in the hash table's own
//! slots, and every time the table grew it moved each of them (192 bytes) into a new block
//! twice the size, whose every page the kernel zeroed first: on the synthetic capture's
//! 125,000 flows, ~240,000 moves and ~96 MiB zeroed for a table of 48 MiB, up to a tenth of
//! `flowsight read`'s time when the VM had to find the pages. Here the index's entries are 8
//! bytes (a slot and the key's hash, so that growing it reads no flow), and the slab grows in
//! place: huge_pages.rs remaps it, moving its pages, not its bytes. A flow stays in its slot
//! for life, new flows fill the slab in order (ones that start together sit together), and
//! the slab holds as many slots as the most flows open at once, where the table's slots
//! numbered up to 2.3 times that.
//!
//! The price is one more look per packet, into the index, which is small enough to stay in
//! the caches (1 MiB at 64,000 flows, its control bytes an eighth of that).

use crate::FlowKey;
use crate::huge_pages::HugePages;
use crate::table::Flow;
use allocator_api2::vec::Vec as SlabVec;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use std::hash::BuildHasher;

/// See the module's documentation.
#[derive(Debug)]
pub(crate) struct FlowStore<X> {
    /// Where each open flow's slot is.
    index: HashTable<Slot, HugePages>,
    /// The flows, and `None` in the slots of removed ones.
    slab: SlabVec<Option<Flow<X>>, HugePages>,
    /// Empty slots of the slab, the last emptied last.
    free: Vec<u32>,
    hasher: foldhash::fast::RandomState,
}

/// An index entry.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The flow's place in the slab.
    at: u32,
    /// Its key's hash (see [`spread`]).
    hash: u32,
}

/// The hash the index is built on, from the 32 bits a [`Slot`] keeps: the same bits in both
/// halves, as hashbrown takes its bucket from the low bits and its tag from the top seven.
fn spread(hash: u32) -> u64 {
    u64::from(hash) << 32 | u64::from(hash)
}

impl<X> Default for FlowStore<X> {
    fn default() -> Self {
        FlowStore {
            index: HashTable::new_in(HugePages),
            slab: SlabVec::new_in(HugePages),
            free: Vec::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl<X> FlowStore<X> {
    /// Open flows.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// The 32 bits of `key`'s hash a slot keeps.
    fn hash(&self, key: &FlowKey) -> u32 {
        let h = self.hasher.hash_one(key);
        (h >> 32) as u32 ^ h as u32
    }

    /// The slot of the flow of `key`, when it is open.
    fn find(&self, key: &FlowKey) -> Option<usize> {
        let hash = self.hash(key);
        let slab = &self.slab;
        let slot = self.index.find(spread(hash), |s| {
            s.hash == hash && slab[s.at as usize].as_ref().is_some_and(|f| f.key == *key)
        })?;
        Some(slot.at as usize)
    }

    /// The flow of `key`.
    pub(crate) fn get(&self, key: &FlowKey) -> Option<&Flow<X>> {
        self.slab[self.find(key)?].as_ref()
    }

    /// The flow of `key`, to change.
    pub(crate) fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow<X>> {
        let at = self.find(key)?;
        self.slab[at].as_mut()
    }

    /// The flow of `key`, made by `make` when none is open; true when it was made.
    pub(crate) fn get_or_insert_with(
        &mut self,
        key: FlowKey,
        make: impl FnOnce() -> Flow<X>,
    ) -> (&mut Flow<X>, bool) {
        let hash = self.hash(&key);
        let slab = &self.slab;
        let entry = self.index.entry(
            spread(hash),
            |s| s.hash == hash && slab[s.at as usize].as_ref().is_some_and(|f| f.key == key),
            |s| spread(s.hash),
        );
        let at = match entry {
            Entry::Occupied(e) => e.get().at as usize,
            Entry::Vacant(e) => {
                let at = match self.free.pop() {
                    Some(at) => at as usize,
                    None => {
                        self.slab.push(None);
                        self.slab.len() - 1
                    }
                };
                // A slab of 2^32 flows would take 768 GiB.
                let at32 = u32::try_from(at).unwrap_or(u32::MAX);
                e.insert(Slot { at: at32, hash });
                at
            }
        };
        let slot = &mut self.slab[at];
        let made = slot.is_none();
        (slot.get_or_insert_with(make), made)
    }

    /// Remove the flow of `key`, returning it.
    pub(crate) fn remove(&mut self, key: &FlowKey) -> Option<Flow<X>> {
        let hash = self.hash(key);
        let slab = &self.slab;
        let entry = self
            .index
            .find_entry(spread(hash), |s| {
                s.hash == hash && slab[s.at as usize].as_ref().is_some_and(|f| f.key == *key)
            })
            .ok()?;
        let at = entry.remove().0.at;
        self.free.push(at);
        self.slab[at as usize].take()
    }

    /// Every open flow, in slab order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Flow<X>> + '_ {
        self.slab.iter().flatten()
    }

    /// Every open flow, to change, in slab order.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Flow<X>> + '_ {
        self.slab.iter_mut().flatten()
    }

    /// Remove every flow, in slab order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Flow<X>> + '_ {
        self.index.clear();
        self.free.clear();
        self.slab.drain(..).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn key(n: u32) -> FlowKey {
        FlowKey {
            addr: [
                IpAddr::V4(Ipv4Addr::from(n)),
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            ],
            port: [40000, 80],
            protocol: 6,
            ifindex: 0,
            vlan: 0,
        }
    }

    fn flow(n: u32) -> Flow<u32> {
        let stats = crate::Snapshot {
            last_ns: 0,
            packets: [1, 0],
            bytes: [60, 0],
            tcp_flags: [0; 2],
            first_ns: 0,
            initiator: crate::Initiator::Unknown,
            sockets: [None; 2],
        };
        let mut f: Flow<u32> = Flow::from_snapshot(key(n), stats);
        f.ext = n;
        f
    }

    /// Flows in their thousands, removed and added again in turn, each found with its own
    /// state; removed slots are reused, so the slab holds no more slots than flows were
    /// open at once.
    #[test]
    fn finds_each_flow_through_growth_removal_and_reuse() {
        let mut s: FlowStore<u32> = FlowStore::default();
        for n in 0..50_000 {
            let (f, made) = s.get_or_insert_with(key(n), || flow(n));
            assert!(made);
            assert_eq!(f.ext, n);
        }
        for n in (0..50_000).step_by(2) {
            assert_eq!(s.remove(&key(n)).map(|f| f.ext), Some(n));
            assert!(s.remove(&key(n)).is_none());
        }
        assert_eq!(s.len(), 25_000);
        for n in 50_000..75_000 {
            s.get_or_insert_with(key(n), || flow(n));
        }
        assert_eq!(s.slab.len(), 50_000, "emptied slots reused");
        for n in 0..75_000 {
            let open = n >= 50_000 || n % 2 == 1;
            assert_eq!(s.get(&key(n)).map(|f| f.ext), open.then_some(n), "{n}");
            if open {
                let (f, made) = s.get_or_insert_with(key(n), || flow(u32::MAX));
                assert_eq!((f.ext, made), (n, false));
                s.get_mut(&key(n)).unwrap().ext += 1;
            }
        }
        assert_eq!(s.iter().count(), 50_000);
        assert!(s.iter_mut().all(|f| f.ext % 2 == 0 || f.ext > 50_000));
        let mut drained: Vec<u32> = s.drain().map(|f| f.ext).collect();
        drained.sort_unstable();
        assert_eq!(drained.len(), 50_000);
        assert_eq!(s.len(), 0);
        assert!(s.get(&key(1)).is_none());
    }
}
