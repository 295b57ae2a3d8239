//! Session state kept in a replica's memory (a servlet container's `HttpSession`, an
//! in-process login): a user's session lives on the replica instance that created it. A
//! request whose live session is on another replica, or on a replica that crashed or left
//! since, finds it gone: the session is lost (the user logs in again, the cart is empty)
//! and a new one starts where the request landed. A session idle longer than the timeout
//! has ended on its own. The request key stands for the user.

use super::keymap::KeyMap;
use crate::engine::Nanos;

#[derive(Clone, Copy, Debug)]
pub struct SessionsConfig {
    /// A session unused this long has ended (Tomcat's default: 30 min).
    pub idle_timeout: Nanos,
}

#[derive(Clone, Copy)]
struct Session {
    replica: u32,
    /// The replica's incarnation when the session was made.
    life: u32,
    last: Nanos,
}

pub struct Sessions {
    cfg: SessionsConfig,
    live: KeyMap<Session>,
    /// Per replica slot: bumped when its memory is lost (a crash, or the slot emptied).
    lives: Vec<u32>,
    pub started: u64,
    pub lost: u64,
}

impl Sessions {
    pub fn new(cfg: SessionsConfig) -> Self {
        Sessions {
            cfg,
            live: KeyMap::default(),
            lives: Vec::new(),
            started: 0,
            lost: 0,
        }
    }

    fn life(&mut self, replica: u32) -> u32 {
        let r = replica as usize;
        if self.lives.len() <= r {
            self.lives.resize(r + 1, 0);
        }
        self.lives[r]
    }

    /// Replica `replica` lost its memory: every session on it is gone.
    pub fn forget(&mut self, replica: u32) {
        let _ = self.life(replica);
        self.lives[replica as usize] += 1;
    }

    /// A request of user `key` reached `replica` at `now`; `counted` after warm-up.
    pub fn visit(&mut self, key: u64, replica: u32, now: Nanos, counted: bool) {
        let life = self.life(replica);
        let here = Session {
            replica,
            life,
            last: now,
        };
        match self.live.get(&key).copied() {
            Some(s) if now.saturating_sub(s.last) <= self.cfg.idle_timeout => {
                let kept = s.replica == replica && s.life == life;
                if !kept {
                    self.lost += counted as u64;
                    self.started += counted as u64;
                }
            }
            _ => self.started += counted as u64,
        }
        self.live.insert(key, here);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Nanos = 60_000_000_000;

    #[test]
    fn a_session_survives_on_its_replica_and_is_lost_elsewhere_or_after_a_crash() {
        let mut s = Sessions::new(SessionsConfig {
            idle_timeout: 30 * MIN,
        });
        s.visit(7, 0, 0, true);
        s.visit(7, 0, MIN, true);
        assert_eq!((s.started, s.lost), (1, 0));
        // Another replica has no state for it.
        s.visit(7, 1, 2 * MIN, true);
        assert_eq!((s.started, s.lost), (2, 1));
        // Its replica crashed and came back: memory gone.
        s.forget(1);
        s.visit(7, 1, 3 * MIN, true);
        assert_eq!((s.started, s.lost), (3, 2));
        // Idle past the timeout: ended, not lost.
        s.visit(7, 0, 40 * MIN, true);
        assert_eq!((s.started, s.lost), (4, 2));
    }
}
