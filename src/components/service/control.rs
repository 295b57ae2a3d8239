//! Control loops: the dimmer's period, the autoscaler's scrapes and decisions, scheduled
//! bounds. Each only changes what is desired; the fleet's reconcile does the rest.

use super::census::Census;
use super::*;

impl Service {
    /// The dimmer's period: it re-reads the latency and sets how much optional work to do.
    pub(super) fn dim(&mut self, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let d = self.dimmer.as_mut().expect("ticks only with a dimmer");
        d.tick(now);
        ctx.cal.after(d.period(), self.id, Msg::Dimmer);
    }

    /// A metrics scrape: the autoscaler's sample of this second.
    pub(super) fn scrape(&mut self, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let totals = self.totals(now);
        let a = self
            .autoscaler
            .as_mut()
            .expect("scrapes only with an autoscaler");
        a.sample(now, totals);
        ctx.cal.after(SCRAPE, self.id, Msg::Scrape);
    }

    /// The autoscaler's decision: a desired count, and for a vertical policy a new size
    /// rolled out.
    pub(super) fn autoscale(&mut self, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        debug_assert_eq!(self.census, Census::of(&self.replicas, self.version));
        let [starting, _, ready] = self.census.fleet;
        let a = self
            .autoscaler
            .as_mut()
            .expect("decisions only with an autoscaler");
        let to = a.decide(now, self.desired, ready, starting);
        ctx.cal.after(a.period(), self.id, Msg::Autoscale);
        let resize = a.resize(now, self.rollout.is_some());
        let how = match &a.cfg.policy {
            PolicyConfig::Vertical(v) => Some((v.surge, v.restart)),
            _ => None,
        };
        self.set_desired(to, ctx);
        if let (Some(size), Some((surge, restart))) = (resize, how) {
            let r = Rollout {
                max_surge: Bound::Count(surge as u32),
                max_unavailable: Bound::Count(!surge as u32),
                blue_green: false,
                size: Some(size),
                restart,
            };
            self.roll_out(r, ctx);
        }
    }

    /// Scheduled action `i`: new bounds, the desired count moved inside them.
    pub(super) fn scheduled(&mut self, i: usize, ctx: &mut Ctx) {
        let a = self
            .autoscaler
            .as_mut()
            .expect("schedules only with an autoscaler");
        let action = a.cfg.schedule[i];
        if let Some(min) = action.min {
            a.min = min;
        }
        if let Some(max) = action.max {
            a.max = max;
        }
        let to = self.desired.clamp(a.min, a.max.max(a.min));
        self.set_desired(to, ctx);
    }
}
