//! Hash maps keyed by request keys and ids, with a fast hasher. They are looked up, never
//! iterated, so no hash order can reach results; the hasher only has to spread keys well,
//! not resist an adversary, and SipHash's cost per lookup buys nothing here.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map from `u64` keys (request keys, tokens) to `V`.
pub type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// SplitMix64's finalizer over one `u64`: every input bit reaches the high bits the table
/// uses.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[inline]
    fn write_u64(&mut self, x: u64) {
        let mut z = (self.0 ^ x).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = z ^ (z >> 31);
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_map_stores_and_finds_keys() {
        let mut m: KeyMap<u32> = KeyMap::default();
        for k in 0..10_000u64 {
            m.insert(k * 7919, k as u32);
        }
        assert!((0..10_000u64).all(|k| m.get(&(k * 7919)) == Some(&(k as u32))));
        assert_eq!(m.get(&3), None);
    }
}
