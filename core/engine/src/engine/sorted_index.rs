//! A fixed-capacity sorted array whose best entry sits at the end. Books keep their price
//! levels here: the best price is `last()`, O(1); taking it away is a pop, O(1). Inserting
//! or removing elsewhere moves only the entries between that point and the best, which in a
//! real book is the short, busy end. The capacity is reserved up front, so `Vec::insert`
//! never reallocates.

pub(crate) struct SortedIndex<K, V> {
    keys: Vec<K>,
    values: Vec<V>,
    capacity: usize,
}

impl<K: Ord + Copy, V: Copy> SortedIndex<K, V> {
    pub fn with_capacity(capacity: usize) -> Self {
        SortedIndex { keys: Vec::with_capacity(capacity), values: Vec::with_capacity(capacity), capacity }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_full(&self) -> bool {
        self.keys.len() >= self.capacity
    }

    /// The best entry.
    pub fn last(&self) -> Option<(K, V)> {
        Some((*self.keys.last()?, *self.values.last()?))
    }

    /// The worst entry.
    pub fn first(&self) -> Option<(K, V)> {
        Some((*self.keys.first()?, *self.values.first()?))
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.keys.binary_search(key).ok().map(|index| self.values[index])
    }

    /// Inserts a key that is not present. Panics if full: callers check first.
    pub fn insert(&mut self, key: K, value: V) {
        assert!(!self.is_full(), "SortedIndex over capacity");
        let index = self.keys.partition_point(|probe| *probe < key);
        assert!(self.keys.get(index) != Some(&key), "SortedIndex duplicate key");
        self.keys.insert(index, key);
        self.values.insert(index, value);
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let index = self.keys.binary_search(key).ok()?;
        if index + 1 == self.keys.len() {
            self.keys.pop();
            return self.values.pop();
        }
        self.keys.remove(index);
        Some(self.values.remove(index))
    }

    /// Entries from best to worst.
    pub fn iter_best_first(&self) -> impl Iterator<Item = (K, V)> + '_ {
        self.keys.iter().rev().copied().zip(self.values.iter().rev().copied())
    }
}

/// A pool of `T` with a free list: slots are reused, indices stay stable while in use.
/// Memory is reserved up front but only touched as the pool fills, so resident memory
/// follows the high-water mark rather than the configured capacity.
pub(crate) struct Pool<T> {
    items: Vec<T>,
    free: Vec<u32>,
    capacity: usize,
}

impl<T: Copy> Pool<T> {
    pub fn with_capacity(capacity: u32) -> Self {
        let capacity = capacity as usize;
        Pool { items: Vec::with_capacity(capacity), free: Vec::with_capacity(capacity), capacity }
    }

    #[cfg(any(test, feature = "testkit"))]
    pub fn in_use(&self) -> usize {
        self.items.len() - self.free.len()
    }

    pub fn is_full(&self) -> bool {
        self.free.is_empty() && self.items.len() == self.capacity
    }

    /// Takes a free slot. Panics if none: callers check `is_full` first.
    pub fn alloc(&mut self, item: T) -> u32 {
        if let Some(index) = self.free.pop() {
            self.items[index as usize] = item;
            return index;
        }
        assert!(self.items.len() < self.capacity, "Pool over capacity");
        self.items.push(item);
        (self.items.len() - 1) as u32
    }

    pub fn release(&mut self, index: u32) {
        debug_assert!(!self.free.contains(&index));
        self.free.push(index);
    }

    #[inline]
    pub fn get(&self, index: u32) -> &T {
        &self.items[index as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, index: u32) -> &mut T {
        &mut self.items[index as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_best_at_the_end() {
        let mut index: SortedIndex<i64, u32> = SortedIndex::with_capacity(8);
        for (value, key) in [50, 10, 30, 20, 40].into_iter().enumerate() {
            index.insert(key, value as u32);
        }
        assert_eq!(index.last(), Some((50, 0)));
        assert_eq!(index.first(), Some((10, 1)));
        assert_eq!(index.remove(&30), Some(2));
        assert_eq!(index.remove(&30), None);
        let keys: Vec<i64> = index.iter_best_first().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![50, 40, 20, 10]);
        assert_eq!(index.remove(&50), Some(0));
        assert_eq!(index.last(), Some((40, 4)));
    }

    #[test]
    fn pool_reuses_slots() {
        let mut pool: Pool<u64> = Pool::with_capacity(2);
        let a = pool.alloc(1);
        let b = pool.alloc(2);
        assert!(pool.is_full());
        pool.release(a);
        assert_eq!(pool.alloc(3), a);
        assert_eq!(*pool.get(b), 2);
    }
}
