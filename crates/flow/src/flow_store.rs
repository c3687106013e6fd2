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
//! for life, new flows fill the slab in order or take the slots last emptied (flows that
//! start together sit together), and the slab holds as many slots as the most flows open at
//! once, where the table's slots numbered up to 2.3 times that.
//!
//! The price is one more look per packet, into the index, which is small enough to stay in
//! the caches (1 MiB at 64,000 flows, its control bytes an eighth of that).
//!
//! An empty slot holds a placeholder flow, and a bitmap says which slots are full. (Slots of
//! `Option<Flow>` told full from empty by a niche the compiler chose: a field in the flow's
//! cold third cache line, read by every lookup.)

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
    /// The flows, and placeholders in the slots of removed ones.
    slab: SlabVec<Flow<X>, HugePages>,
    /// Which slots hold a flow, a bit each.
    full: Vec<u64>,
    /// Empty slots of the slab, the last emptied last.
    free: Vec<u32>,
    /// Seeded afresh for every store, so that keys cannot be chosen ahead to collide.
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
            full: Vec::new(),
            free: Vec::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

/// Whether bit `at` of `bits` is set (the bitmap of full slots).
fn bit(bits: &[u64], at: usize) -> bool {
    bits.get(at / 64).is_some_and(|w| w & 1 << (at % 64) != 0)
}

/// The test an index entry passes when it is the slot of `key`, whose hash is `hash`: the
/// hash first, so that a tag that matched by chance costs no look into the slab.
fn holds<'a, X>(slab: &'a [Flow<X>], hash: u32, key: &'a FlowKey) -> impl Fn(&Slot) -> bool + 'a {
    move |s| s.hash == hash && slab[s.at as usize].key == *key
}

/// What an empty slot holds.
fn placeholder<X: Default>() -> Flow<X> {
    let none = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
    let key = FlowKey {
        addr: [none; 2],
        port: [0; 2],
        protocol: 0,
        ifindex: 0,
        vlan: 0,
    };
    Flow::from_snapshot(
        key,
        crate::Snapshot {
            last_ns: 0,
            packets: [0; 2],
            bytes: [0; 2],
            tcp_flags: [0; 2],
            first_ns: 0,
            initiator: crate::Initiator::Unknown,
            sockets: [None; 2],
        },
    )
}

impl<X: Default> FlowStore<X> {
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
        let slot = self
            .index
            .find(spread(hash), holds(&self.slab, hash, key))?;
        Some(slot.at as usize)
    }

    /// The flow of `key`.
    pub(crate) fn get(&self, key: &FlowKey) -> Option<&Flow<X>> {
        Some(&self.slab[self.find(key)?])
    }

    /// The flow of `key`, to change.
    pub(crate) fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow<X>> {
        let at = self.find(key)?;
        Some(&mut self.slab[at])
    }

    /// The flow of `key`, made by `make` when none is open, with its slot; true when it was
    /// made.
    pub(crate) fn get_or_insert_with(
        &mut self,
        key: FlowKey,
        make: impl FnOnce() -> Flow<X>,
    ) -> (&mut Flow<X>, u32, bool) {
        let hash = self.hash(&key);
        let entry = self
            .index
            .entry(spread(hash), holds(&self.slab, hash, &key), |s| {
                spread(s.hash)
            });
        match entry {
            Entry::Occupied(e) => {
                let at = e.get().at;
                (&mut self.slab[at as usize], at, false)
            }
            Entry::Vacant(e) => {
                let flow = make();
                let at = match self.free.pop() {
                    Some(at) => {
                        self.slab[at as usize] = flow;
                        at as usize
                    }
                    None => {
                        self.slab.push(flow);
                        self.slab.len() - 1
                    }
                };
                // (A slab of 2^32 flows would take 768 GiB.)
                let at32 = u32::try_from(at).unwrap_or(u32::MAX);
                e.insert(Slot { at: at32, hash });
                if self.full.len() <= at / 64 {
                    self.full.push(0);
                }
                self.full[at / 64] |= 1 << (at % 64);
                (&mut self.slab[at], at32, true)
            }
        }
    }

    /// Whether slot `at` holds a flow.
    fn is_full(&self, at: usize) -> bool {
        bit(&self.full, at)
    }

    /// The flow in slot `at`, if one is.
    pub(crate) fn at(&self, at: u32) -> Option<&Flow<X>> {
        self.is_full(at as usize).then(|| &self.slab[at as usize])
    }

    /// Remove the flow in slot `at`, returning it.
    pub(crate) fn remove_at(&mut self, at: u32) -> Option<Flow<X>> {
        let key = self.at(at)?.key;
        self.remove(&key)
    }

    /// The flow in slot `at`, if one is, to change: the one [`FlowStore::get_or_insert_with`] gave that
    /// slot, or a later one if that was removed since.
    pub(crate) fn at_mut(&mut self, at: u32) -> Option<&mut Flow<X>> {
        let at = at as usize;
        if self.is_full(at) {
            Some(&mut self.slab[at])
        } else {
            None
        }
    }

    /// Remove the flow of `key`, returning it.
    pub(crate) fn remove(&mut self, key: &FlowKey) -> Option<Flow<X>> {
        let hash = self.hash(key);
        let entry = (self.index)
            .find_entry(spread(hash), holds(&self.slab, hash, key))
            .ok()?;
        let at = entry.remove().0.at;
        self.free.push(at);
        let at = at as usize;
        self.full[at / 64] &= !(1 << (at % 64));
        Some(std::mem::replace(&mut self.slab[at], placeholder()))
    }

    /// Every open flow, in slab order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Flow<X>> + '_ {
        self.iter_slots().map(|(_, f)| f)
    }

    /// Every open flow with its slot, in slab order.
    pub(crate) fn iter_slots(&self) -> impl Iterator<Item = (u32, &Flow<X>)> + '_ {
        (self.slab.iter().enumerate())
            .filter_map(|(at, f)| self.is_full(at).then_some((at as u32, f)))
    }

    /// Every open flow, to change, with its slot, in slab order.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (u32, &mut Flow<X>)> + '_ {
        let full = &self.full;
        (self.slab.iter_mut().enumerate())
            .filter_map(move |(at, f)| bit(full, at).then_some((at as u32, f)))
    }

    /// Remove every flow, in slab order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Flow<X>> + '_ {
        self.index.clear();
        self.free.clear();
        let full = std::mem::take(&mut self.full);
        (self.slab.drain(..).enumerate()).filter_map(move |(at, f)| bit(&full, at).then_some(f))
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
        let mut f: Flow<u32> = placeholder();
        f.key = key(n);
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
            let (f, at, made) = s.get_or_insert_with(key(n), || flow(n));
            assert!(made);
            assert_eq!((f.ext, at), (n, n));
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
                let (f, _, made) = s.get_or_insert_with(key(n), || flow(u32::MAX));
                assert_eq!((f.ext, made), (n, false));
                s.get_mut(&key(n)).unwrap().ext += 1;
            }
        }
        assert_eq!(s.iter().count(), 50_000);
        assert!(s.iter_mut().all(|(_, f)| f.ext % 2 == 0 || f.ext > 50_000));
        // Slot 0's flow (0) was removed and its slot given to the last flow made (74,999).
        assert_eq!(s.at_mut(0).map(|f| f.ext), Some(75_000));
        assert!(s.at_mut(60_000).is_none());
        assert_eq!(s.remove_at(0).map(|f| f.ext), Some(75_000));
        assert!(s.remove_at(0).is_none() && s.at(0).is_none());
        assert_eq!(s.at(1).map(|f| f.ext), Some(2));
        s.get_or_insert_with(key(75_000), || flow(75_000));
        let mut drained: Vec<u32> = s.drain().map(|f| f.ext).collect();
        drained.sort_unstable();
        assert_eq!(drained.len(), 50_000);
        assert_eq!(s.len(), 0);
        assert!(s.get(&key(1)).is_none());
    }
}
