//! The `scalesim` command line: parse arguments, call the library, print.

use clap::{Parser, Subcommand};
use scalesim::model::{self, CommandLine, Problem};
use scalesim::{experiment, report};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

#[derive(Subcommand)]
enum Command {
    /// Run an experiment and write its result folder.
    Run {
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
        /// Override the number of replications.
        #[arg(long)]
        replications: Option<u32>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Print nothing but errors and warnings.
        #[arg(long)]
        quiet: bool,
    },
    /// Parse and validate experiment files without running them.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
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
            experiment,
            out,
            set,
            seed,
            replications,
            threads,
            quiet,
        } => run(
            &experiment,
            out,
            CommandLine {
                set,
                seed,
                replications,
            },
            threads,
            quiet,
        ),
        Command::Validate { paths } => validate(&paths),
    }
}

fn fail(p: &Problem) -> ExitCode {
    eprintln!("error: {p}");
    ExitCode::from(2)
}

fn run(
    path: &Path,
    out: Option<PathBuf>,
    cli: CommandLine,
    threads: Option<usize>,
    quiet: bool,
) -> ExitCode {
    if threads == Some(0) {
        return fail(&Problem::plain("--threads must be at least 1"));
    }
    let plan = match model::load_experiment(path, &cli) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let results = match experiment::run_plan(&plan, threads) {
        Ok(r) => r,
        Err(e) => return fail(&Problem::plain(e)),
    };
    let dir = out.unwrap_or_else(|| Path::new("results").join(model::stem(path)));
    if let Err(e) = report::write_folder(&dir, &plan, &results) {
        return fail(&Problem::plain(format!(
            "cannot write {}: {e}",
            dir.display()
        )));
    }
    for w in report::warnings(&plan, &results) {
        println!("warning: {w}");
    }
    if !quiet {
        print!("{}", report::table(&plan, &results));
        let events = results.events();
        println!(
            "\n{} runs, {} events in {:.2}s ({:.1} M events/s); results in {}",
            results.units.len(),
            events,
            results.wall_s,
            events as f64 / results.wall_s.max(1e-9) / 1e6,
            dir.display()
        );
    }
    ExitCode::SUCCESS
}

fn validate(paths: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for p in paths {
        match model::load_experiment(p, &CommandLine::default()) {
            Ok(plan) => println!("ok: {} ({} points)", p.display(), plan.points.len()),
            Err(e) => {
                eprintln!("error: {e}");
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
