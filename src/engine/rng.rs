//! Per-actor random streams.
//!
//! A stream is derived from (experiment seed, replication, actor name, purpose) only, never from
//! parameters, so every point of a sweep sees the same random numbers for the same replication
//! (common random numbers). The generator is PCG (value-stable by its crate's promise) seeded
//! through SplitMix64, which we spell out here so that the derivation itself cannot drift.

use rand::{Rng, RngCore};
use rand_pcg::Pcg64Mcg;

/// A random stream owned by one actor for one purpose.
pub type Stream = Pcg64Mcg;

#[inline]
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn absorb(mut h: u64, bytes: &[u8]) -> u64 {
    // Length first, so that ("ab", "c") and ("a", "bc") differ.
    h = splitmix64(h ^ bytes.len() as u64);
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = splitmix64(h ^ u64::from_le_bytes(word));
    }
    h
}

/// The stream of `actor` for `purpose` in replication `replication` of an experiment seeded
/// with `seed`.
pub fn derive_stream(seed: u64, replication: u64, actor: &str, purpose: &str) -> Stream {
    let mut h = splitmix64(seed);
    h = splitmix64(h ^ replication.wrapping_mul(0xd6e8_feb8_6659_fd93));
    h = absorb(h, actor.as_bytes());
    h = absorb(h, purpose.as_bytes());
    let hi = splitmix64(h ^ 0x5851_f42d_4c95_7f2d);
    let lo = splitmix64(hi ^ h);
    Pcg64Mcg::new(((hi as u128) << 64) | lo as u128)
}

/// An index in `low..high`, the same draw as `rng.random_range(low..high)`: rand draws an
/// index below 2^32 on 32 bits (Canon's multiply, one more draw when the low half is close
/// to overflowing), and that is spelled out here so a pick (a balancer's, an empirical
/// sample's) is inlined into its caller rather than paying for a call per draw.
///
/// `low < high`, as for `random_range`; callers index a slice with the result, so an empty
/// one still panics there (this only checks it in debug builds, being on the request path).
#[inline(always)]
pub fn index_in(rng: &mut Stream, low: usize, high: usize) -> usize {
    debug_assert!(low < high, "an empty range of indices");
    if high > u32::MAX as usize {
        return rng.random_range(low..high);
    }
    // 1 ≤ range ≤ 2^32 − 1: high fits 32 bits and low < high.
    let range = (high - low) as u32;
    let m = rng.next_u32() as u64 * range as u64;
    let (mut hi, lo) = ((m >> 32) as u32, m as u32);
    if lo > range.wrapping_neg() {
        let next_hi = ((rng.next_u32() as u64 * range as u64) >> 32) as u32;
        hi += lo.checked_add(next_hi).is_none() as u32;
    }
    low + hi as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draw for draw what rand draws, over small, odd, power-of-two and huge ranges (where
    /// the second draw matters most), offsets included, and the stream left in the same state.
    #[test]
    fn index_in_draws_what_rand_draws() {
        let ranges = [
            (0usize, 1usize),
            (0, 2),
            (1, 2),
            (0, 7),
            (1, 8),
            (3, 1_000),
            (0, 1 << 20),
            (0, (1 << 31) + 1),
            (5, u32::MAX as usize),
            (0, u32::MAX as usize + 10),
            (1 << 40, (1 << 40) + 3),
        ];
        for (k, (low, high)) in ranges.into_iter().enumerate() {
            let mut a = derive_stream(9, k as u64, "index", "in");
            let mut b = a.clone();
            for i in 0..50_000 {
                let want = a.random_range(low..high);
                assert_eq!(index_in(&mut b, low, high), want, "{low}..{high}, draw {i}");
            }
            assert_eq!(a.next_u64(), b.next_u64(), "{low}..{high}: streams apart");
        }
    }

    #[test]
    fn streams_are_stable_and_distinct() {
        let a1 = derive_stream(42, 0, "users", "arrivals").next_u64();
        let a2 = derive_stream(42, 0, "users", "arrivals").next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, derive_stream(42, 1, "users", "arrivals").next_u64());
        assert_ne!(a1, derive_stream(43, 0, "users", "arrivals").next_u64());
        assert_ne!(a1, derive_stream(42, 0, "app", "arrivals").next_u64());
        assert_ne!(a1, derive_stream(42, 0, "users", "think").next_u64());
    }
}
