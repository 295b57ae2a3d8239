#!/usr/bin/env python3
"""Wall-clock A/B of two scalesim binaries on the benchmark models, in interleaved rounds
(A, then B, then A, ...) so that whatever else the machine runs weighs on both alike:

    benches/ab.py BINARY_A BINARY_B [ROUNDS]    (default: 7 rounds)

Prints, per model, requests per second of each (median over rounds) and the median of the
per-round ratios A's time / B's time (above 1: B is faster). Each run is one thread: about
1.6 M requests for M/M/1, 2.6 M for M/M/16, 0.5 M for the web tier.
"""
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
MODELS = [("mm1", "2000s"), ("mm16", "200s"), ("web-tier", "500s")]


def run(binary, model, duration, out):
    args = [binary, "run", str(HERE / f"{model}.ron"), "--set", f"duration={duration}",
            "--out", out, "--threads", "1", "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    a, b = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    print(f"{'model':<9} {'A req/s':>10} {'B req/s':>10} {'A ÷ B time':>11}")
    with tempfile.TemporaryDirectory() as work:
        out = str(pathlib.Path(work) / "out")
        for model, duration in MODELS:
            run(a, model, duration, out)
            summary = json.loads((pathlib.Path(out) / "summary.json").read_text())
            n = summary["points"][0]["metrics"]["requests"]["mean"]
            times = [(run(a, model, duration, out), run(b, model, duration, out))
                     for _ in range(rounds)]
            ra = statistics.median(n / ta for ta, _ in times)
            rb = statistics.median(n / tb for _, tb in times)
            ratio = statistics.median(ta / tb for ta, tb in times)
            print(f"{model:<9} {ra:>10.3g} {rb:>10.3g} {ratio:>10.2f}x")


if __name__ == "__main__":
    main()
