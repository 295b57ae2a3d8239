//! The pipeline as a library: load an experiment, run its work list (or search its plan),
//! judge its expectations and write its result folder. `run`, `check`, `plan` and `merge`
//! on the command line are these functions and some printing.

use crate::analysis::{Shown, Verdict};
use crate::check;
use crate::experiment::journal::{self, Journal, RunRecord};
use crate::experiment::{self, Missing, Options, Results, Shard, UnitResult};
use crate::model::{self, CommandLine, Plan, Problem};
use crate::plan::{self, output, Outcome};
use crate::report;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to run: threads, a shard, whether to resume, whether to show progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings {
    pub threads: Option<usize>,
    pub shard: Option<Shard>,
    pub resume: bool,
    pub progress: bool,
}

/// A run of an experiment's work list, its folder written (unless it was one shard).
pub struct Ran {
    pub plan: Plan,
    pub results: Results,
    pub verdicts: Vec<Verdict>,
    /// The metrics the experiment shows, per point (empty for a shard).
    pub shown: Shown,
    /// Runs that came from the journal of an interrupted run.
    pub resumed: usize,
    /// Where the results are: the folder, or a shard's journal.
    pub dir: PathBuf,
    /// An expectation that could not be evaluated (an unknown metric): the folder is written
    /// without verdicts, and this is the error to report.
    pub bad_expectation: Option<Problem>,
    /// The experiment also has a `plan:` block, which `run` does not search.
    pub has_plan: bool,
}

/// The default result folder of an experiment file: `results/<stem>`.
pub fn default_dir(path: &Path) -> PathBuf {
    Path::new("results").join(model::stem(path))
}

fn at(path: &Path, m: impl std::fmt::Display) -> Problem {
    Problem::plain(format!("{}: {m}", path.display()))
}

/// Runs every variant × point × replication of `path`, journaled in `dir` as runs finish,
/// and writes the result folder (a shard leaves its journal for `merge`).
pub fn run(path: &Path, cli: &CommandLine, dir: &Path, how: Settings) -> Result<Ran, Problem> {
    if how.threads == Some(0) {
        return Err(Problem::plain("--threads must be at least 1"));
    }
    let loaded = plan::load(path, cli)?;
    let has_plan = loaded.question.is_some();
    let plan = loaded.plan;
    // A plan's expect lines read its answer: `plan` and `check` judge them.
    let expectations = match check::parse_all(&plan) {
        Ok(_) if has_plan => Vec::new(),
        Ok(e) => e,
        Err(m) => return Err(at(path, m)),
    };
    let record = RunRecord {
        experiment: path.display().to_string(),
        set: cli.set.clone(),
        seed: cli.seed,
        replications: cli.replications,
        quick: cli.quick,
        plan_id: plan.id(),
        shard: how.shard.map(|s| (s.index, s.count)),
    };
    crate::files::prepare_result_folder(dir).map_err(Problem::plain)?;
    let (journal, known) = Journal::open(dir, &record, how.resume).map_err(Problem::plain)?;
    let resumed = known.len();
    let opts = Options {
        threads: how.threads,
        shard: how.shard,
        journal: Some(&journal),
        known,
        missing: Missing::Run,
        progress: how.progress,
    };
    let results = experiment::execute(&plan, opts).map_err(Problem::plain)?;
    let mut ran = Ran {
        plan,
        results,
        verdicts: Vec::new(),
        shown: Shown::default(),
        resumed,
        dir: dir.to_path_buf(),
        bad_expectation: None,
        has_plan,
    };
    if how.shard.is_some() {
        ran.dir = Journal::dir_of(dir);
        return Ok(ran);
    }
    // A bad expectation (an unknown metric, say) must not cost the results: write the folder
    // without verdicts, then report it.
    match check::evaluate_all(&ran.plan, &ran.results, &expectations) {
        Ok(v) => ran.verdicts = v,
        Err(m) => ran.bad_expectation = Some(at(path, m)),
    }
    ran.shown = check::shown(&ran.plan, &ran.results).map_err(|m| at(path, m))?;
    report::write_folder(dir, &ran.plan, &ran.results, &ran.verdicts, &ran.shown)
        .map_err(Problem::plain)?;
    let removed = journal.finish().map_err(|e| {
        Problem::plain(format!(
            "cannot remove {}: {e}",
            Journal::dir_of(dir).display()
        ))
    });
    match (&ran.bad_expectation, removed) {
        (_, Ok(())) => Ok(ran),
        // The expectation's error is the one to report; the leftover journal only warns.
        (Some(_), Err(e)) => {
            eprintln!("warning: {e}");
            Ok(ran)
        }
        (None, Err(e)) => Err(e),
    }
}

/// Joins the journals of shards into the folder one run would have written, at `out`.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Ran, Problem> {
    let mut record: Option<RunRecord> = None;
    let mut known: Vec<UnitResult> = Vec::new();
    let mut shards = Vec::new();
    for d in dirs {
        let (rec, units) = journal::read(&Journal::dir_of(d)).map_err(|e| at(d, e))?;
        if let Some(first) = &record {
            if first.plan_id != rec.plan_id {
                return Err(Problem::plain(format!(
                    "{} holds runs of a different experiment or settings than {}",
                    d.display(),
                    dirs[0].display()
                )));
            }
        }
        shards.push(rec.shard);
        known.extend(units);
        record = Some(rec);
    }
    let record = record.ok_or_else(|| Problem::plain("no shard folders to merge"))?;
    if let Some((_, n)) = record.shard {
        let mut seen: Vec<u32> = shards.iter().filter_map(|s| s.map(|(i, _)| i)).collect();
        seen.sort();
        seen.dedup();
        if seen.len() != n as usize {
            let missing: Vec<String> = (0..n)
                .filter(|i| !seen.contains(i))
                .map(|i| format!("{i}/{n}"))
                .collect();
            return Err(Problem::plain(format!(
                "missing shards: {}",
                missing.join(", ")
            )));
        }
    }
    let cli = CommandLine {
        set: record.set.clone(),
        seed: record.seed,
        replications: record.replications,
        quick: record.quick,
    };
    let plan = model::load_experiment(Path::new(&record.experiment), &cli)?;
    if plan.id() != record.plan_id {
        return Err(Problem::plain(format!(
            "{} has changed since the shards ran: run them again",
            record.experiment
        )));
    }
    let resumed = known.len();
    let opts = Options {
        known,
        missing: Missing::Fail,
        ..Options::default()
    };
    let results = experiment::execute(&plan, opts).map_err(Problem::plain)?;
    let verdicts = check::parse_all(&plan)
        .and_then(|e| check::evaluate_all(&plan, &results, &e))
        .map_err(Problem::plain)?;
    let shown = check::shown(&plan, &results).map_err(Problem::plain)?;
    report::write_folder(out, &plan, &results, &verdicts, &shown).map_err(Problem::plain)?;
    Ok(Ran {
        plan,
        results,
        verdicts,
        shown,
        resumed,
        dir: out.to_path_buf(),
        bad_expectation: None,
        has_plan: false,
    })
}

/// A searched plan, its folder written.
pub struct Planned {
    pub outcome: Outcome,
    pub verdicts: Vec<Verdict>,
    pub resumed: usize,
    pub wall_s: f64,
    pub dir: PathBuf,
}

impl Planned {
    /// An answer was found and every expectation of it holds.
    pub fn succeeded(&self) -> bool {
        let found = match &self.outcome.answer {
            plan::Answer::Cheapest(c) => c.best.is_some(),
            plan::Answer::Tipping(_) => true,
        };
        found && self.verdicts.iter().all(|v| v.passed)
    }
}

/// Searches the `plan:` block of `path`, journaled in `dir`, and writes the folder.
///
/// ```
/// use scalesim::model::CommandLine;
/// use scalesim::pipeline::{search, Settings};
/// use std::path::Path;
///
/// let root = Path::new(env!("CARGO_MANIFEST_DIR"));
/// let out = std::env::temp_dir().join("scalesim-doc-capacity-plan");
/// let planned = search(
///     &root.join("experiments/capacity-plan.ron"),
///     &CommandLine::default(),
///     &out,
///     Settings::default(),
/// )
/// .unwrap();
/// assert!(planned.succeeded());
/// assert!(out.join("plan.json").exists());
/// ```
pub fn search(
    path: &Path,
    cli: &CommandLine,
    dir: &Path,
    how: Settings,
) -> Result<Planned, Problem> {
    if how.threads == Some(0) {
        return Err(Problem::plain("--threads must be at least 1"));
    }
    let loaded = plan::load(path, cli)?;
    if loaded.question.is_none() {
        return Err(at(
            path,
            "there is no `plan:` block to answer; add `plan: Plan(vary: {...}, minimize: \"cost\", \
             subject_to: [...])` or `plan: Tipping(...)`, or use `scalesim run`",
        ));
    }
    let record = RunRecord {
        experiment: path.display().to_string(),
        set: cli.set.clone(),
        seed: cli.seed,
        replications: None,
        quick: cli.quick,
        plan_id: plan::search_id(&loaded.plan),
        shard: None,
    };
    crate::files::prepare_result_folder(dir).map_err(Problem::plain)?;
    let (journal, known) = Journal::open(dir, &record, how.resume).map_err(Problem::plain)?;
    let resumed = known.len();
    let start = Instant::now();
    let outcome = plan::search(&loaded, how.threads, Some(&journal), known)?;
    let wall_s = start.elapsed().as_secs_f64();
    let verdicts = plan::verdicts(&loaded, &outcome).map_err(|m| at(path, m))?;
    output::write_folder(dir, &outcome, &verdicts).map_err(Problem::plain)?;
    journal.finish().map_err(|e| {
        Problem::plain(format!(
            "cannot remove {}: {e}",
            Journal::dir_of(dir).display()
        ))
    })?;
    Ok(Planned {
        outcome,
        verdicts,
        resumed,
        wall_s,
        dir: dir.to_path_buf(),
    })
}

/// What `check` found in one experiment file.
pub struct Checked {
    pub name: String,
    /// Whether it was a plan's search (else a run of its work list).
    pub searched: bool,
    pub verdicts: Vec<Verdict>,
    /// Expectations that could not be parsed or evaluated, each with where and why.
    pub errors: Vec<String>,
    pub wall_s: f64,
}

/// Runs one experiment in memory (no folder) and judges its `expect` lines; `None` when it
/// has none. A bad expectation is an error of its own: the others are still judged, and
/// nothing runs if any cannot be parsed.
///
/// ```
/// use scalesim::model::CommandLine;
/// use std::path::Path;
///
/// // M/D/1 at 80% load waits half as long as M/M/1: its expectation says so.
/// let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/textbook/md1.ron");
/// let quick = CommandLine { quick: true, ..Default::default() };
/// let checked = scalesim::pipeline::check(&file, &quick, Some(1)).unwrap().unwrap();
/// assert!(!checked.verdicts.is_empty());
/// assert!(checked.verdicts.iter().all(|v| v.passed), "{:?}", checked.verdicts);
/// ```
pub fn check(
    path: &Path,
    cli: &CommandLine,
    threads: Option<usize>,
) -> Result<Option<Checked>, Problem> {
    let loaded = plan::load(path, cli)?;
    if loaded.plan.settings.expect.is_empty() {
        return Ok(None);
    }
    let start = Instant::now();
    let name = loaded.plan.name.clone();
    if loaded.question.is_some() {
        let outcome = plan::search(&loaded, threads, None, Vec::new())?;
        let verdicts = plan::verdicts(&loaded, &outcome).map_err(|m| at(path, m))?;
        return Ok(Some(Checked {
            name,
            searched: true,
            verdicts,
            errors: Vec::new(),
            wall_s: start.elapsed().as_secs_f64(),
        }));
    }
    let plan = loaded.plan;
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for (i, text) in plan.settings.expect.iter().enumerate() {
        match check::expr::parse(text) {
            Ok(e) => parsed.push(e),
            Err(e) => errors.push(format!("{}: expect[{i}] `{text}`: {e}", path.display())),
        }
    }
    if !errors.is_empty() {
        return Ok(Some(Checked {
            name,
            searched: false,
            verdicts: Vec::new(),
            errors,
            wall_s: 0.0,
        }));
    }
    let results = experiment::run_plan(&plan, threads).map_err(Problem::plain)?;
    let mut verdicts = Vec::new();
    for e in &parsed {
        match check::evaluate(&plan, &results, e) {
            Ok(v) => verdicts.push(v),
            Err(m) => errors.push(format!("{}: expect `{}`: {m}", path.display(), e.text)),
        }
    }
    Ok(Some(Checked {
        name,
        searched: false,
        verdicts,
        errors,
        wall_s: results.wall_s,
    }))
}
