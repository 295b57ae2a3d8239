//! The `scalesim` command line: parse arguments, call the library, print.

use clap::{CommandFactory, Parser, Subcommand};
use scalesim::experiment::Shard;
use scalesim::model::{CommandLine, Problem};
use scalesim::{check, pipeline, report};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Prints to stdout, ignoring a closed pipe (`scalesim run ... | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Like `say!` without the newline.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "scalesim",
    version,
    about = "Deterministic simulator of backend scaling strategies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What `run` and `plan` share: the experiment, where results go, overrides, threads.
#[derive(clap::Args)]
struct Common {
    /// The experiment file (RON).
    experiment: PathBuf,
    /// Result folder (default: results/<experiment file stem>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override a model field: PATH=VALUE, e.g. app.replicas=4 (any RON value).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Override the experiment's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Finish an interrupted run or search: keep the runs already saved in the result folder.
    #[arg(long)]
    resume: bool,
    /// Print nothing but errors and warnings (and, for a plan, the answer's first line).
    #[arg(long)]
    quiet: bool,
}

impl Common {
    fn command_line(&self) -> CommandLine {
        CommandLine {
            set: self.set.clone(),
            seed: self.seed,
            ..CommandLine::default()
        }
    }

    fn dir(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| pipeline::default_dir(&self.experiment))
    }

    fn settings(&self, shard: Option<Shard>) -> pipeline::Settings {
        pipeline::Settings {
            threads: self.threads,
            shard,
            resume: self.resume,
            progress: !self.quiet,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run an experiment and write its result folder.
    #[command(after_help = "Examples:
  scalesim run experiments/quickstart.ron                 results in results/quickstart
  scalesim run experiments/retry-storm.ron --quick --out /tmp/storm
  scalesim run EXP.ron --set app.replicas=8 --set users.arrivals.rate=900.0
  scalesim run EXP.ron --shard 0/4 --out results/exp-shard-0   then `scalesim merge`
  scalesim run EXP.ron --resume                           finish an interrupted run")]
    Run {
        #[command(flatten)]
        common: Common,
        /// Override the number of replications.
        #[arg(long)]
        replications: Option<u32>,
        /// Use the experiment's shorter `quick` profile (as `check --quick` does).
        #[arg(long)]
        quick: bool,
        /// Run only the I-th of N deterministic slices of the work (0-based); join the
        /// shard folders with `scalesim merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
    },
    /// Compare two result folders: paired differences (B − A) with 95% confidence intervals.
    #[command(after_help = "Examples:
  scalesim compare results/before results/after
  scalesim compare results/a results/b --metric latency_p99_s --metric app.utilization
  scalesim compare results/a results/b --out results/a-vs-b   overlay plots and a page")]
    Compare {
        /// The first result folder (A).
        a: PathBuf,
        /// The second result folder (B), compared point by point with A.
        b: PathBuf,
        /// A metric to compare, repeatable: any column of both runs.csv files, e.g.
        /// `latency_p99_s` or `app.utilization` (default: throughput_rps, goodput_rps,
        /// latency_mean_s, latency_p99_s, rejected, timed_out). An unknown name lists the
        /// valid ones.
        #[arg(long = "metric", value_name = "NAME")]
        metrics: Vec<String>,
        /// Also draw the two folders' time series overlaid, into this folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Join the result folders of shards into the folder one run would have written;
    /// prints the verdicts and table a run prints, and exits 1 when an expectation fails.
    #[command(after_help = "Examples:
  scalesim merge results/exp-shard-* --out results/exp
  deploy/slurm/submit.sh EXP.ron 8 4                      shards and merge on Slurm")]
    Merge {
        /// Shard result folders (each written by `run --shard I/N`).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The result folder to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run experiments (files, or folders searched recursively) and check their `expect`
    /// lines; exits 1 when one fails.
    #[command(after_help = "Examples:
  scalesim check experiments/                             every shipped lesson
  scalesim check experiments/ --quick --junit target/check.xml   a CI gate")]
    Check {
        /// Experiment files, or folders to search for them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write a JUnit XML report here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Use each experiment's shorter `quick` profile.
        #[arg(long)]
        quick: bool,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Answer an experiment's `plan:` block: the cheapest configuration meeting its
    /// constraints (`Plan`), or the smallest trigger the system does not recover from
    /// (`Tipping`). Writes plan.json, runs.csv, plots and report.html.
    #[command(after_help = "Examples:
  scalesim plan experiments/capacity-plan.ron
  scalesim plan experiments/retry-tipping-point.ron --out /tmp/tipping")]
    Plan {
        #[command(flatten)]
        common: Common,
    },
    /// Redraw the plots of a result folder from its data files.
    #[command(after_help = "Example:
  scalesim plot results/quickstart")]
    Plot {
        /// A result folder written by run, merge or plan.
        dir: PathBuf,
    },
    /// Parse and validate experiment files without running them.
    #[command(after_help = "Example:
  scalesim validate experiments/*.ron")]
    Validate {
        /// Experiment files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  scalesim completions bash > ~/.local/share/bash-completion/completions/scalesim
  scalesim completions zsh > ~/.zfunc/_scalesim
  scalesim completions fish > ~/.config/fish/completions/scalesim.fish")]
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run {
            common,
            replications,
            quick,
            shard,
        } => {
            let cli = CommandLine {
                replications,
                quick,
                ..common.command_line()
            };
            run(&common, cli, shard.as_deref())
        }
        Command::Merge { dirs, out } => merge(&dirs, &out),
        Command::Plan { common } => plan(&common),
        Command::Compare { a, b, metrics, out } => compare(&a, &b, metrics, out.as_deref()),
        Command::Validate { paths } => validate(&paths),
        Command::Plot { dir } => match report::plots::plot_folder(&dir) {
            Ok(files) => {
                say!("{} plots in {}", files.len(), dir.join("plots").display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&Problem::plain(e)),
        },
        Command::Check {
            paths,
            junit,
            quick,
            threads,
        } => check(&paths, junit.as_deref(), quick, threads),
        Command::Completions { shell } => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "scalesim", &mut out);
            ExitCode::SUCCESS
        }
    }
}

fn fail(p: &Problem) -> ExitCode {
    print_error(p);
    ExitCode::from(2)
}

/// Prints an error, each of its problems on a line of its own.
fn print_error(e: &dyn std::fmt::Display) {
    for line in e.to_string().lines() {
        eprintln!("error: {line}");
    }
}

fn run(common: &Common, cli: CommandLine, shard: Option<&str>) -> ExitCode {
    let shard = match shard.map(Shard::parse).transpose() {
        Ok(s) => s,
        Err(e) => return fail(&Problem::plain(e)),
    };
    let (path, quiet) = (&common.experiment, common.quiet);
    let ran = match pipeline::run(path, &cli, &common.dir(), common.settings(shard)) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if let Some(s) = shard {
        if !quiet {
            say!(
                "shard {}/{}: {} runs saved in {}; join the shards with `scalesim merge DIR... --out DIR`",
                s.index,
                s.count,
                ran.results.units.len(),
                ran.dir.display()
            );
        }
        return ExitCode::SUCCESS;
    }
    if let Some(p) = &ran.bad_expectation {
        say!("results written to {}", ran.dir.display());
        return fail(p);
    }
    if !quiet {
        print_verdicts("", &ran.verdicts);
    }
    print_outcome(&ran, &ran.dir, quiet);
    if ran.has_plan && !quiet {
        say!(
            "this experiment has a plan: `scalesim plan {}` searches it and checks its expect lines",
            path.display()
        );
    }
    ExitCode::SUCCESS
}

/// Each verdict on a line: PASS or FAIL, the expectation, what was measured.
fn print_verdicts(indent: &str, verdicts: &[check::Verdict]) {
    for v in verdicts {
        say!(
            "{indent}{} {}  [{}]",
            if v.passed { "PASS" } else { "FAIL" },
            v.text,
            v.detail
        );
    }
}

fn plan(common: &Common) -> ExitCode {
    let quiet = common.quiet;
    let mut how = common.settings(None);
    how.progress = false;
    let planned = match pipeline::search(
        &common.experiment,
        &common.command_line(),
        &common.dir(),
        how,
    ) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let text = scalesim::plan::output::answer_text(&planned.outcome.answer, &planned.outcome.work);
    if quiet {
        say!("{}", text.lines().next().unwrap_or(""));
    } else {
        say_raw!("{text}");
        print_verdicts("", &planned.verdicts);
        let mut line = format!("{} runs in {:.2}s", planned.outcome.ran, planned.wall_s);
        if planned.resumed > 0 {
            line.push_str(&format!(", {} runs resumed", planned.resumed));
        }
        say!("{line}; results in {}", planned.dir.display());
    }
    if planned.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_outcome(ran: &pipeline::Ran, dir: &Path, quiet: bool) {
    let (plan, results, resumed) = (&ran.plan, &ran.results, ran.resumed);
    for w in scalesim::analysis::warnings(plan, results) {
        say!("warning: {w}");
    }
    if quiet {
        return;
    }
    say_raw!("{}", report::table(plan, &ran.shown));
    let theory = report::theory_table(plan, results);
    if !theory.is_empty() {
        say_raw!("\ntheory beside simulation (measured arrivals and service times):\n{theory}");
    }
    let events = results.events();
    if resumed > 0 && resumed == results.units.len() {
        // Nothing ran here (a merge): no rate to speak of.
        say!(
            "\n{} runs, {events} events, all from the shards or an earlier run; results in {}",
            results.units.len(),
            dir.display()
        );
        return;
    }
    let mut line = format!(
        "\n{} runs, {} events in {:.2}s ({:.1} M events/s",
        results.units.len(),
        events,
        results.wall_s,
        events as f64 / results.wall_s.max(1e-9) / 1e6
    );
    if let Some(per_unit) = results.events_per_s_per_unit() {
        line.push_str(&format!(", {:.1} M events/s per run", per_unit / 1e6));
    }
    line.push(')');
    if resumed > 0 {
        line.push_str(&format!(", {resumed} runs resumed"));
    }
    say!("{line}; results in {}", dir.display());
}

/// Joins shards and reports as a run does: verdicts, table, theory; exit 1 when an
/// expectation fails, as `check` does, so a cluster's merge job fails visibly.
fn merge(dirs: &[PathBuf], out: &Path) -> ExitCode {
    match pipeline::merge(dirs, out) {
        Ok(ran) => {
            print_verdicts("", &ran.verdicts);
            print_outcome(&ran, out, false);
            if ran.verdicts.iter().any(|v| !v.passed) {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn compare(a: &Path, b: &Path, mut metrics: Vec<String>, out: Option<&Path>) -> ExitCode {
    use report::compare::{self, Runs};
    if metrics.is_empty() {
        metrics = compare::DEFAULT_METRICS
            .iter()
            .map(|m| m.to_string())
            .collect();
    }
    let rows = Runs::read(a)
        .and_then(|ra| Runs::read(b).map(|rb| (ra, rb)))
        .and_then(|(ra, rb)| compare::compare(&ra, &rb, &metrics));
    match rows {
        Ok(rows) => {
            say!("A = {}\nB = {}\n", a.display(), b.display());
            say_raw!("{}", compare::table(&rows));
            if let Some(out) = out {
                match report::plots::compare_plots(a, b, out, &rows) {
                    Ok(files) => say!(
                        "overlays in {}, the page in {}",
                        files[0].display(),
                        out.join("report.html").display()
                    ),
                    Err(e) => return fail(&Problem::plain(e)),
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&Problem::plain(e)),
    }
}

/// Experiment files under `paths`: files as given, folders searched recursively for `.ron`
/// files that are experiments (model files are skipped), in name order.
fn experiment_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Problem> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "ron") {
                let head = std::fs::read_to_string(&p)?;
                let is_model = head
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with("//"))
                    .is_some_and(|l| l.starts_with("Model("));
                if !is_model {
                    out.push(p);
                }
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)
                .map_err(|e| Problem::plain(format!("cannot read {}: {e}", p.display())))?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn check(paths: &[PathBuf], junit: Option<&Path>, quick: bool, threads: Option<usize>) -> ExitCode {
    let files = match experiment_files(paths) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    let (mut passed, mut failed, mut bad) = (0usize, 0usize, false);
    let mut suites = Vec::new();
    let cli = CommandLine {
        quick,
        ..CommandLine::default()
    };
    for file in &files {
        let checked = match pipeline::check(file, &cli, threads) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                print_error(&e);
                bad = true;
                continue;
            }
        };
        for e in &checked.errors {
            print_error(&e);
            bad = true;
        }
        if checked.verdicts.is_empty() && !checked.errors.is_empty() {
            continue;
        }
        let kind = if checked.searched { "plan, " } else { "" };
        say!("{} ({kind}{:.1}s)", file.display(), checked.wall_s);
        print_verdicts("  ", &checked.verdicts);
        passed += checked.verdicts.iter().filter(|v| v.passed).count();
        failed += checked.verdicts.iter().filter(|v| !v.passed).count();
        suites.push((checked.name, file.display().to_string(), checked.verdicts));
    }
    if let Some(path) = junit {
        if let Err(e) =
            scalesim::files::write_atomic(path, check::junit::render(&suites).as_bytes())
        {
            return fail(&Problem::plain(format!(
                "cannot write {}: {e}",
                path.display()
            )));
        }
    }
    say!("{passed} passed, {failed} failed");
    if bad {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn validate(paths: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for p in paths {
        match scalesim::plan::load(p, &CommandLine::default()) {
            Ok(l) if l.question.is_some() => say!("ok: {} (a plan)", p.display()),
            Ok(l) => {
                say!("ok: {} ({} points)", p.display(), l.plan.points.len());
                for w in &l.plan.warnings {
                    say!("warning: {w}");
                }
            }
            Err(e) => {
                print_error(&e);
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
