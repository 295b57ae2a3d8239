//! The kernel every actor uses: the messages actors exchange through the calendar, and the
//! context a handler acts through. It knows no actor kind.

use super::request::{Outcome, ReqId, Requests};
use crate::engine::{ActorId, Calendar, Nanos};

/// Everything that can happen to an actor.
#[derive(Clone, Copy, Debug)]
pub enum Msg {
    /// A client's next open-loop arrival is due.
    Generate,
    /// A closed-loop user finished thinking.
    Think(u32),
    /// Handle this request and reply to its `reply_to`.
    Call(ReqId),
    /// The answer to a call; the outcome is in the request.
    Reply(ReqId),
    /// A caller's timeout for this request.
    Expire(ReqId),
    /// A service finished the work of a handler step (the token names the job).
    Finish(u64),
    /// A caller's backoff ended: send the next attempt of this call.
    RetryDue(u64),
    /// A caller's hedging delay ended: send another copy if still unanswered.
    HedgeDue(u64),
    /// A caller's breaker refused this call's attempt.
    Refused(u64),
    /// Fault `fault` of the node's timeline begins or ends.
    Fault { fault: u32, begins: bool },
    /// A balancer sends a call to a replica of a service.
    Route { request: ReqId, replica: u32 },
    /// A health check of a replica, from actor `from`, its `seq`-th probe.
    Probe { replica: u32, from: u32, seq: u32 },
    /// The replica answered probe `seq`.
    ProbeAck { replica: u32, seq: u32 },
    /// Probe `seq` of the replica got no answer in time.
    ProbeTimeout { replica: u32, seq: u32 },
    /// Time to probe replica `.0` again.
    ProbeDue(u32),
    /// An outlier ejection of replica `.0` ended.
    Unejected(u32),
    /// A replica slot, in its incarnation `epoch`, finished starting.
    Ready { replica: u32, epoch: u32 },
    /// Time for a service to sample its totals for its autoscaler.
    Scrape,
    /// Time for an autoscaler's decision.
    Autoscale,
    /// Scheduled scaling action `.0` is due.
    Scheduled(u32),
    /// A replica joins or leaves a balancer's endpoints.
    Members { replica: u32, joins: bool },
    /// Check whether a function instance (in its incarnation `epoch`) has idled long enough.
    Reap { instance: u32, epoch: u32 },
    /// A service's degradation controller's period ended.
    Dimmer,
    /// A queue's delivery `.0` (a token) reached its visibility timeout.
    Visibility(u64),
    /// A queue's delivery window opens or closes.
    Wake,
    /// A job (a token) has waited its acquire timeout for a connection in step `step`.
    PoolTimeout { job: u64, step: u32 },
    /// A cache's write-behind delay for key `.0` ended: write it to the backend.
    Flush(u64),
    /// A rate limit's delay for this call ended: admit it (to `replica`, or `u32::MAX` for
    /// the next in turn).
    Paced { request: ReqId, replica: u32 },
    /// A call's new connection is set up: it arrives now (to `replica`, or `u32::MAX` for
    /// the next in turn).
    Connected { request: ReqId, replica: u32 },
    /// A replica of actor `from` opens (`count` > 0) or closes connections its pool keeps.
    Hold { from: u32, count: i32 },
}

// Every event in the calendar carries a message: keep it two words, so adding a kind does not
// slow every heap operation.
const _: () = assert!(std::mem::size_of::<Msg>() <= 16);

impl Msg {
    /// A stable number per kind, for the trajectory fingerprint.
    pub(super) fn code(&self) -> u32 {
        match self {
            Msg::Generate => 1,
            Msg::Think(_) => 2,
            Msg::Call(_) => 3,
            Msg::Reply(_) => 4,
            Msg::Expire(_) => 5,
            Msg::Finish(..) => 6,
            Msg::RetryDue(_) => 7,
            Msg::Fault { .. } => 8,
            Msg::Route { .. } => 9,
            Msg::Probe { .. } => 10,
            Msg::ProbeAck { .. } => 11,
            Msg::ProbeTimeout { .. } => 12,
            Msg::ProbeDue(_) => 13,
            Msg::Unejected(_) => 14,
            Msg::HedgeDue(_) => 15,
            Msg::Refused(_) => 16,
            Msg::Ready { .. } => 17,
            Msg::Scrape => 18,
            Msg::Autoscale => 19,
            Msg::Scheduled(_) => 20,
            Msg::Members { .. } => 21,
            Msg::Reap { .. } => 22,
            Msg::Dimmer => 23,
            Msg::Paced { .. } => 24,
            Msg::Flush(_) => 25,
            Msg::PoolTimeout { .. } => 26,
            Msg::Visibility(_) => 27,
            Msg::Wake => 28,
            Msg::Connected { .. } => 29,
            Msg::Hold { .. } => 30,
        }
    }
}

/// Answers the caller of `id` with `outcome`, sent at `at`: it arrives after the edge's
/// latency back.
#[inline(always)]
pub fn answer(ctx: &mut Ctx, id: ReqId, outcome: Outcome, at: Nanos) {
    let r = ctx
        .requests
        .get_mut(id)
        .expect("a caller's request lives until answered");
    r.outcome = outcome;
    let (to, net) = (r.reply_to, r.net);
    ctx.cal.at(at.saturating_add(net), to, Msg::Reply(id));
}

/// What a handler may touch besides its own actor.
pub struct Ctx<'a> {
    pub cal: &'a mut Calendar<Msg>,
    pub requests: &'a mut Requests,
    /// Start of the measured window: requests born earlier are not counted.
    pub warmup: Nanos,
}

/// The verbs a handler acts with. Every effect on other actors goes through the calendar, so
/// the order of events is (time, the order they were scheduled in), whoever runs them.
impl Ctx<'_> {
    /// The current simulated time, in nanoseconds.
    ///
    /// ```
    /// use scalesim::components::{Ctx, Requests};
    /// use scalesim::engine::Calendar;
    ///
    /// let (mut cal, mut requests) = (Calendar::new(), Requests::default());
    /// let ctx = Ctx { cal: &mut cal, requests: &mut requests, warmup: 0 };
    /// assert_eq!(ctx.now(), 0);
    /// ```
    #[inline]
    pub fn now(&self) -> Nanos {
        self.cal.now()
    }

    /// Delivers `msg` to `to` at the current instant, after every event already due now.
    ///
    /// ```
    /// use scalesim::components::{Ctx, Msg, Requests};
    /// use scalesim::engine::{ActorId, Calendar};
    ///
    /// let (mut cal, mut requests) = (Calendar::new(), Requests::default());
    /// let mut ctx = Ctx { cal: &mut cal, requests: &mut requests, warmup: 0 };
    /// ctx.send(ActorId(3), Msg::Scrape);
    /// let ev = cal.pop_before(1).unwrap();
    /// assert_eq!((ev.time, ev.target), (0, ActorId(3)));
    /// ```
    #[inline]
    pub fn send(&mut self, to: ActorId, msg: Msg) {
        let now = self.cal.now();
        self.cal.at(now, to, msg);
    }

    /// Delivers `msg` to `to` once `delay` nanoseconds have passed.
    ///
    /// ```
    /// use scalesim::components::{Ctx, Msg, Requests};
    /// use scalesim::engine::{ActorId, Calendar};
    ///
    /// let (mut cal, mut requests) = (Calendar::new(), Requests::default());
    /// let mut ctx = Ctx { cal: &mut cal, requests: &mut requests, warmup: 0 };
    /// ctx.after(5_000_000, ActorId(1), Msg::Autoscale);
    /// assert!(cal.pop_before(5_000_000).is_none()); // not before it is due
    /// assert_eq!(cal.pop_before(u64::MAX).unwrap().time, 5_000_000);
    /// ```
    #[inline]
    pub fn after(&mut self, delay: Nanos, to: ActorId, msg: Msg) {
        self.cal.after(delay, to, msg);
    }

    /// Calls `to` now on behalf of request `parent` (its class, key, deadline and birth):
    /// a new request whose reply comes back to `me` carrying `token`. Returns its id.
    ///
    /// ```
    /// use scalesim::components::{Ctx, Msg, Request, Requests};
    /// use scalesim::engine::{ActorId, Calendar};
    ///
    /// let (mut cal, mut requests) = (Calendar::new(), Requests::default());
    /// let mut parent = Request::new(0, ActorId(1), 0);
    /// parent.key = 42;
    /// let parent = requests.insert(parent);
    /// let mut ctx = Ctx { cal: &mut cal, requests: &mut requests, warmup: 0 };
    /// let child = ctx.call_for(parent, ActorId(2), 7, ActorId(3));
    /// let c = requests.get(child).unwrap();
    /// assert_eq!((c.reply_to, c.token, c.key), (ActorId(2), 7, 42));
    /// let ev = cal.pop_before(u64::MAX).unwrap();
    /// assert!(ev.target == ActorId(3) && matches!(ev.msg, Msg::Call(r) if r == child));
    /// ```
    pub fn call_for(&mut self, parent: ReqId, me: ActorId, token: u64, to: ActorId) -> ReqId {
        let now = self.cal.now();
        let p = self
            .requests
            .get(parent)
            .expect("a call for a live request");
        let mut child = p.on_behalf(me, token);
        child.sent = now;
        let id = self.requests.insert(child);
        self.cal.at(now, to, Msg::Call(id));
        id
    }

    /// Answers the caller of request `id` now with `outcome`; the reply arrives after the
    /// edge's latency back.
    ///
    /// ```
    /// use scalesim::components::{Ctx, Msg, Outcome, Request, Requests};
    /// use scalesim::engine::{ActorId, Calendar};
    ///
    /// let (mut cal, mut requests) = (Calendar::new(), Requests::default());
    /// let mut req = Request::new(0, ActorId(7), 0);
    /// req.net = 2_000; // 2 µs each way
    /// let id = requests.insert(req);
    /// let mut ctx = Ctx { cal: &mut cal, requests: &mut requests, warmup: 0 };
    /// ctx.reply(id, Outcome::Ok);
    /// let ev = cal.pop_before(u64::MAX).unwrap();
    /// assert_eq!((ev.time, ev.target), (2_000, ActorId(7)));
    /// assert!(matches!(ev.msg, Msg::Reply(r) if r == id));
    /// assert_eq!(requests.get(id).unwrap().outcome, Outcome::Ok);
    /// ```
    pub fn reply(&mut self, id: ReqId, outcome: Outcome) {
        let now = self.cal.now();
        answer(self, id, outcome, now);
    }
}
