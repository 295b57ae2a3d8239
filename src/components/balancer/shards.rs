//! Range sharding and its splits while serving: keys 0..`keys` in equal ranges over the
//! initial replicas, until a split moves the upper part of a shard's range to a new
//! replica slot. The split key is the median of keys routed to the shard during the copy
//! (CockroachDB's load-based splitting) or the range's middle.

use crate::engine::Nanos;

/// A shard's range split while serving: keys are copied to a new shard from `from`, and at
/// `to` the upper part of the range moves there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Split {
    pub shard: u32,
    pub from: Nanos,
    pub to: Nanos,
    /// Split where the sampled load halves (CockroachDB's load-based splitting), not at
    /// the middle key.
    pub by_load: bool,
}

/// Keys sampled per split to place a load-based split.
const SPLIT_SAMPLE: usize = 4096;

pub(super) struct RangeShards {
    keys: u64,
    shards: u64,
    splits: Vec<Split>,
    /// Once a split has happened: (first key, replica slot), by first key.
    ranges: Vec<(u64, u32)>,
    /// Keys routed to the next split's shard during its copy.
    sample: Vec<u64>,
    next: usize,
    /// A split waiting for its new replica to join: (the range's index, its split key).
    waiting: Option<(usize, u64)>,
    pub(super) done: u32,
    pub(super) last_key: u64,
}

impl RangeShards {
    pub(super) fn new(keys: u64, shards: u32, splits: Vec<Split>) -> Self {
        RangeShards {
            keys,
            shards: shards.max(1) as u64,
            splits,
            ranges: Vec::new(),
            sample: Vec::new(),
            next: 0,
            waiting: None,
            done: 0,
            last_key: 0,
        }
    }

    pub(super) fn splits(&self) -> &[Split] {
        &self.splits
    }

    /// The replica slot holding `key` at `now`; sampled for a split being copied.
    #[inline]
    pub(super) fn shard(&mut self, key: u64, now: Nanos) -> u32 {
        let r = if self.ranges.is_empty() {
            let (keys, n) = (self.keys as u128, self.shards as u128);
            ((key as u128 * n / keys) as u64).min(self.shards - 1) as u32
        } else {
            let i = self.ranges.partition_point(|(start, _)| *start <= key);
            self.ranges[i.saturating_sub(1)].1
        };
        if let Some(sp) = self.splits.get(self.next) {
            let copying = (sp.from..sp.to).contains(&now);
            if copying && r == sp.shard && self.sample.len() < SPLIT_SAMPLE {
                self.sample.push(key);
            }
        }
        r
    }

    /// Split `i`'s copy is over: the upper part of its shard's range moves to a member
    /// slot that holds no range (the one the split added), now or once it joins.
    pub(super) fn split(&mut self, i: usize, members: impl Iterator<Item = u32>) {
        let sp = self.splits[i];
        self.next = i + 1;
        if self.ranges.is_empty() {
            let (keys, n) = (self.keys as u128, self.shards);
            self.ranges = (0..n)
                .map(|s| ((s as u128 * keys).div_ceil(n as u128) as u64, s as u32))
                .collect();
        }
        let sample = std::mem::take(&mut self.sample);
        let Some(j) = self.ranges.iter().position(|(_, s)| *s == sp.shard) else {
            return;
        };
        let start = self.ranges[j].0;
        let end = self.ranges.get(j + 1).map_or(self.keys, |r| r.0);
        if end - start < 2 {
            return; // a range of one key cannot be split
        }
        let at = if sp.by_load && !sample.is_empty() {
            let mut sample = sample;
            sample.sort_unstable();
            sample[sample.len() / 2]
        } else {
            start + (end - start) / 2
        };
        // At least the key above the start moves, and at least the last key stays.
        self.waiting = Some((j, at.clamp(start + 1, end - 1)));
        self.finish(members);
    }

    /// Moves the waiting split's upper part to the first member slot without a range.
    pub(super) fn finish(&mut self, mut members: impl Iterator<Item = u32>) {
        let Some((j, at)) = self.waiting else {
            return;
        };
        let ranges = &self.ranges;
        let Some(slot) = members.find(|&r| !ranges.iter().any(|x| x.1 == r)) else {
            return; // the new shard's replica is not ready yet
        };
        self.ranges.insert(j + 1, (at, slot));
        self.waiting = None;
        self.done += 1;
        self.last_key = at;
    }
}
