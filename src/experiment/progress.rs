//! A progress bar with ETA on a terminal; nothing when output is not a terminal.

use super::UnitResult;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(wanted: bool, total: u64) -> Progress {
        if !wanted || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40.cyan/blue} {pos}/{len} runs  {elapsed} elapsed, ETA {eta}  {msg}",
            )
            .expect("a valid template")
            .progress_chars("█▉▊▋▌▍▎▏ "),
        );
        Progress { bar: Some(bar) }
    }

    pub fn finished(&self, r: &UnitResult) {
        if let Some(bar) = &self.bar {
            if let Some(w) = r.wall_s {
                bar.set_message(format!(
                    "{:.1} M events/s",
                    r.events as f64 / w.max(1e-9) / 1e6
                ));
            }
            bar.inc(1);
        }
    }

    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
