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

    /// The jobs on replica `k`, in slot order (as a scan of the slab meets them). Only a
    /// service with crash faults asks: a crash comes from one.
    pub(super) fn on_replica(&self, k: u32) -> Vec<Id> {
        let lists = self.by_replica.as_ref().expect("a crash fault keeps the lists");
        let mut ids = lists.get(k as usize).cloned().unwrap_or_default();
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

    /// What a crash would find scanning the slab: replica `k`'s jobs in slot order.
    fn scan(jobs: &Jobs, k: u32) -> Vec<Id> {
        (jobs.slab.ids().into_iter())
            .filter(|&j| jobs.slab.get(j).is_some_and(|job| job.replica == k))
            .collect()
    }

    /// Listed or scanned, a replica's jobs are the same, in the same order, through
    /// inserts and removals that reuse slots.
    #[test]
    fn lists_agree_with_a_scan() {
        let mut jobs = Jobs::new(true);
        let mut live = Vec::new();
        let mut x = 7u64;
        for step in 0..2_000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let r = (x >> 33) as u32 % 5;
            if live.is_empty() || !(x >> 40).is_multiple_of(3) {
                live.push(jobs.insert(job(r)));
            } else {
                let id = live.swap_remove((x >> 45) as usize % live.len());
                assert!(jobs.remove(id).is_some());
            }
            if step.is_multiple_of(50) {
                for k in 0..6 {
                    assert_eq!(jobs.on_replica(k), scan(&jobs, k), "replica {k}");
                }
            }
        }
        assert!(jobs.remove(live[0]).is_some() && jobs.remove(live[0]).is_none());
    }
}
