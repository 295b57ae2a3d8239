//! A service's jobs: a slab, and for a service that can crash, the jobs of each replica, so
//! that a crash finds its own without scanning the fleet's (a region loss crashes every
//! replica: O(jobs) each would be O(fleet × jobs) in all).

use super::Job;
use crate::components::slab::{Id, Slab};

pub(super) struct Jobs {
    slab: Slab<Job>,
    /// Per replica slot, its jobs in no particular order; kept only if a replica can crash.
    by_replica: Option<Vec<Vec<Id>>>,
}

impl Jobs {
    /// Jobs of a service whose replicas can crash (`crashes`) or not.
    pub(super) fn new(crashes: bool) -> Self {
        Jobs {
            slab: Slab::default(),
            by_replica: crashes.then(Vec::new),
        }
    }

    // The slab's work inlined into the request path; the lists' out of line, so a service
    // that cannot crash pays one test for them.
    #[inline(always)]
    pub(super) fn insert(&mut self, job: Job) -> Id {
        let k = job.replica;
        let id = self.slab.insert(job);
        if let Some(lists) = &mut self.by_replica {
            listed(lists, k, id);
        }
        id
    }

    #[inline(always)]
    pub(super) fn remove(&mut self, id: Id) -> Option<Job> {
        let job = self.slab.remove(id)?;
        if let Some(lists) = &mut self.by_replica {
            unlisted(lists, job.replica, id);
        }
        Some(job)
    }

    #[inline]
    pub(super) fn get(&self, id: Id) -> Option<&Job> {
        self.slab.get(id)
    }

    #[inline]
    pub(super) fn get_mut(&mut self, id: Id) -> Option<&mut Job> {
        self.slab.get_mut(id)
    }

    /// The jobs on replica `k`, in slot order (as a scan of the slab meets them).
    pub(super) fn on_replica(&self, k: u32) -> Vec<Id> {
        let mut ids = match &self.by_replica {
            Some(lists) => lists.get(k as usize).cloned().unwrap_or_default(),
            None => (self.slab.ids().into_iter())
                .filter(|&j| self.slab.get(j).is_some_and(|job| job.replica == k))
                .collect(),
        };
        ids.sort_unstable_by_key(|id| id.slot());
        ids
    }
}

#[cold]
#[inline(never)]
fn listed(lists: &mut Vec<Vec<Id>>, k: u32, id: Id) {
    let k = k as usize;
    if k >= lists.len() {
        lists.resize_with(k + 1, Vec::new);
    }
    lists[k].push(id);
}

#[cold]
#[inline(never)]
fn unlisted(lists: &mut [Vec<Id>], k: u32, id: Id) {
    let list = &mut lists[k as usize];
    let i = list.iter().position(|&j| j == id).expect("a job is listed");
    list.swap_remove(i);
}

#[cfg(test)]
mod tests {
    use super::*;
    fn job(replica: u32) -> Job {
        Job::new(Id::from_token(0), replica, 0, 0)
    }

    /// Listed or scanned, a replica's jobs are the same, in the same order, through
    /// inserts and removals that reuse slots.
    #[test]
    fn lists_agree_with_a_scan() {
        let (mut listed, mut scanned) = (Jobs::new(true), Jobs::new(false));
        let mut live = Vec::new();
        let mut x = 7u64;
        for step in 0..2_000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = (x >> 33) as u32 % 5;
            if live.is_empty() || !(x >> 40).is_multiple_of(3) {
                let a = listed.insert(job(r));
                let b = scanned.insert(job(r));
                assert_eq!(a, b);
                live.push(a);
            } else {
                let id = live.swap_remove((x >> 45) as usize % live.len());
                assert_eq!(
                    listed.remove(id).map(|j| j.replica),
                    scanned.remove(id).map(|j| j.replica)
                );
            }
            if step.is_multiple_of(50) {
                for k in 0..6 {
                    assert_eq!(listed.on_replica(k), scanned.on_replica(k), "replica {k}");
                }
            }
        }
        assert!(listed.remove(live[0]).is_some() && listed.remove(live[0]).is_none());
    }
}
