//! Sweep scaling: a work list of 240 units (2 variants × 12 points × 10 replications) run on
//! 1 thread and on every core, reporting parallel efficiency. Run with
//! `cargo bench --bench sweep`; set SCALESIM_BENCH_THREADS=8 to measure 8 threads instead.

use scalesim::experiment;
use scalesim::model::{self, CommandLine};
use std::path::Path;

fn main() {
    let exp = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/textbook/speedup.ron");
    let rates: Vec<String> = (1..=12)
        .map(|i| format!("{:.1}", 60.0 * i as f64))
        .collect();
    let dir = std::env::temp_dir().join(format!("scalesim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("sweep.ron");
    let text = std::fs::read_to_string(&exp)
        .expect("experiment")
        .replace(
            "\"../../models/",
            &format!("\"{}/models/", env!("CARGO_MANIFEST_DIR")),
        )
        .replace("[500.0, 700.0]", &format!("[{}]", rates.join(", ")));
    std::fs::write(&file, text).expect("write experiment");
    let cli = CommandLine {
        set: vec!["duration=300s".into(), "warmup=10s".into()],
        ..Default::default()
    };
    let plan = model::load_experiment(&file, &cli).expect("load");
    let units = experiment::work_list(&plan).len();
    let threads: usize = std::env::var("SCALESIM_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    // Warm up caches and the allocator once.
    experiment::run_plan(&plan, Some(threads)).expect("run");
    let run = |t: usize| experiment::run_plan(&plan, Some(t)).expect("run").wall_s;
    // The machine's own ceiling: the same units split into `threads` fixed slices on plain
    // OS threads, sharing nothing. On a VM whose cores are contended, this is below ideal.
    let plain = || {
        let all = experiment::work_list(&plan);
        let t0 = std::time::Instant::now();
        std::thread::scope(|s| {
            for k in 0..threads {
                let (plan, all) = (&plan, &all);
                s.spawn(move || {
                    for u in all.iter().skip(k).step_by(threads) {
                        std::hint::black_box(experiment::run_unit(plan, *u));
                    }
                });
            }
        });
        t0.elapsed().as_secs_f64()
    };
    // Interleaved rounds, best of each: the machine is shared and noisy, and interleaving
    // exposes every configuration to the same spells of interference.
    let (mut one, mut many, mut ceiling) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    for _ in 0..5 {
        one = one.min(run(1));
        many = many.min(run(threads));
        ceiling = ceiling.min(plain());
    }
    let events = experiment::run_plan(&plan, Some(threads))
        .expect("run")
        .events();
    println!("sweep of {units} units, {events} events, best of 5 interleaved rounds:");
    println!("  1 thread    {one:6.2} s");
    println!(
        "  {threads} threads   {many:6.2} s   speed-up {:.2}×, parallel efficiency {:.0}%",
        one / many,
        100.0 * one / many / threads as f64
    );
    println!(
        "  {threads} plain threads, no scheduler (the machine's ceiling)   {ceiling:6.2} s   speed-up {:.2}×, efficiency {:.0}%",
        one / ceiling,
        100.0 * one / ceiling / threads as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
}
