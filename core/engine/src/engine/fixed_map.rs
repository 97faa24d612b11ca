//! A fixed-capacity open-addressing hash map: linear probing, backward-shift deletion and a
//! fixed hash seed. It never grows, so it never allocates after construction; callers check
//! `is_full` before inserting. The load factor stays at or below 0.8.

/// # Safety
/// The all-zero bit pattern must be a valid value of the type: the table is allocated
/// zeroed, so that pages no entry ever lands on are never touched.
pub(crate) unsafe trait ZeroValid: Copy {}

// SAFETY: integers and tuples of integers are valid at all-zero bits.
unsafe impl ZeroValid for u64 {}
// SAFETY: as above.
unsafe impl ZeroValid for u32 {}
// SAFETY: as above.
unsafe impl ZeroValid for (u32, u64) {}

pub(crate) trait MapKey: ZeroValid + Eq {
    fn hash64(&self) -> u64;
}

/// SplitMix64's finaliser over the key xor a fixed seed: fast, well mixed, deterministic.
fn mix(value: u64) -> u64 {
    let mut x = value ^ 0x9e37_79b9_7f4a_7c15;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl MapKey for u64 {
    fn hash64(&self) -> u64 {
        mix(*self)
    }
}

impl MapKey for (u32, u64) {
    fn hash64(&self) -> u64 {
        mix(self.1 ^ mix(self.0 as u64))
    }
}

#[derive(Clone, Copy)]
struct Slot<K, V> {
    key: K,
    value: V,
    used: bool,
}

pub(crate) struct FixedMap<K, V> {
    slots: Vec<Slot<K, V>>,
    mask: usize,
    len: usize,
    capacity: usize,
}

impl<K: MapKey, V: ZeroValid> FixedMap<K, V> {
    /// A map for up to `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        // A load of at most 0.8 when full, usually far less: short probes, little memory.
        let table_len = (capacity.max(1) + capacity / 4 + 1).next_power_of_two();
        FixedMap { slots: zeroed_slots(table_len), mask: table_len - 1, len: 0, capacity }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_full(&self) -> bool {
        self.len >= self.capacity
    }

    fn home(&self, key: &K) -> usize {
        key.hash64() as usize & self.mask
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let mut index = self.home(key);
        loop {
            let slot = &self.slots[index];
            if !slot.used {
                return None;
            }
            if slot.key == *key {
                return Some(slot.value);
            }
            index = (index + 1) & self.mask;
        }
    }

    pub fn contains(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Inserts a key that is not present. Panics if the map is full: callers check first.
    pub fn insert(&mut self, key: K, value: V) {
        assert!(!self.is_full(), "FixedMap over capacity");
        let mut index = self.home(&key);
        while self.slots[index].used {
            assert!(self.slots[index].key != key, "FixedMap duplicate key");
            index = (index + 1) & self.mask;
        }
        self.slots[index] = Slot { key, value, used: true };
        self.len += 1;
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let mut index = self.home(key);
        loop {
            let slot = self.slots[index];
            if !slot.used {
                return None;
            }
            if slot.key == *key {
                self.slots[index].used = false;
                self.len -= 1;
                self.shift_back(index);
                return Some(slot.value);
            }
            index = (index + 1) & self.mask;
        }
    }

    /// Backward-shift deletion: pull later entries of the probe run into the hole, so
    /// lookups never need tombstones.
    fn shift_back(&mut self, mut hole: usize) {
        let mut index = (hole + 1) & self.mask;
        while self.slots[index].used {
            let home = self.home(&self.slots[index].key);
            let distance_to_hole = index.wrapping_sub(hole) & self.mask;
            let distance_to_home = index.wrapping_sub(home) & self.mask;
            if distance_to_home >= distance_to_hole {
                self.slots[hole] = self.slots[index];
                self.slots[index].used = false;
                hole = index;
            }
            index = (index + 1) & self.mask;
        }
    }
}

/// `len` empty slots from a zeroed allocation: the kernel maps untouched zero pages lazily,
/// so a sparse table costs memory only where entries land.
fn zeroed_slots<K: ZeroValid, V: ZeroValid>(len: usize) -> Vec<Slot<K, V>> {
    let layout = std::alloc::Layout::array::<Slot<K, V>>(len).expect("table size overflows");
    assert!(layout.size() > 0);
    // SAFETY: the layout has a non-zero size (asserted above).
    let pointer = unsafe { std::alloc::alloc_zeroed(layout) } as *mut Slot<K, V>;
    if pointer.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: the pointer comes from the global allocator with exactly the layout of a
    // `len`-element array of slots, so `Vec` may own and free it; every slot is all-zero
    // bits, which is valid because K and V are `ZeroValid` and `used` is a bool (false).
    unsafe { Vec::from_raw_parts(pointer, len, len) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn agrees_with_std_hashmap_under_churn() {
        let mut fixed: FixedMap<u64, u32> = FixedMap::with_capacity(512);
        let mut model = HashMap::new();
        let mut x = 12345u64;
        for step in 0..200_000u32 {
            x = mix(x);
            let key = x % 700;
            if let Some(expected) = model.remove(&key) {
                assert_eq!(fixed.remove(&key), Some(expected));
            } else if !fixed.is_full() {
                fixed.insert(key, step);
                model.insert(key, step);
            }
            assert_eq!(fixed.len(), model.len());
            let probe = mix(x) % 700;
            assert_eq!(fixed.get(&probe), model.get(&probe).copied());
        }
    }
}
