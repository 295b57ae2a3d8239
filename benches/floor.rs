//! The floor under scalesim's per-request cost, for `benches/instructions.sh`: the hard-coded
//! M/M/1 loop of `floor_loop.rs` for 10^6 requests, bare or keeping a run's statistics
//! (`floor [stats]`). Callgrind counts the instructions of `simulate` alone; the difference
//! between the two is what those statistics cost with nothing around them.

#[path = "floor_loop.rs"]
mod floor_loop;

const REQUESTS: u64 = 1_000_000;

fn main() {
    let keep_stats = std::env::args().nth(1).as_deref() == Some("stats");
    let (served, _) = floor_loop::simulate(REQUESTS, keep_stats);
    println!("{served}");
}
