"""Run scalesim from a notebook and load its results as pandas DataFrames.

    from scalesim_helpers import run
    r = run("experiments/utilization-knee.ron", set={"replications": 4})
    r.points          # one row per variant x sweep point: metric means and ci95
    r.runs            # runs.csv: one row per run
    r.series          # timeseries.csv: metrics per time bucket
    r.show("timeseries")  # scalesim's own plot, inline

Set SCALESIM to the binary to use; by default the release build of this repository is
used (and built with cargo if missing). Set SCALESIM_QUICK=1 to run every experiment with at
most 2 replications (what CI does).
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def _newest_source() -> float:
    """When the newest file the binary is built from last changed."""
    files = [ROOT / "Cargo.toml", ROOT / "Cargo.lock"]
    for folder in ("src", "assets"):
        files += [p for p in (ROOT / folder).rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in files if p.exists())


_checked = False


def binary() -> Path:
    """The scalesim executable: $SCALESIM, or this repository's release build, built (or
    rebuilt, when a source file is newer than it) on first use."""
    global _checked
    if os.environ.get("SCALESIM"):
        return Path(os.environ["SCALESIM"])
    exe = ROOT / "target" / "release" / "scalesim"
    if not _checked:
        stale = not exe.exists() or exe.stat().st_mtime < _newest_source()
        if stale:
            what = "Rebuilding" if exe.exists() else "Building"
            print(f"{what} scalesim (cargo build --release): the first build takes a minute "
                  "or two...", flush=True)
            done = subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"cargo build --release failed:\n{done.stderr}")
            print("built.", flush=True)
        _checked = True
    return exe


# Result folders made here (no `out`), removed when the kernel exits.
_temporary: list[Path] = []


@atexit.register
def _remove_temporary() -> None:
    for folder in _temporary:
        shutil.rmtree(folder, ignore_errors=True)


def quick() -> bool:
    return os.environ.get("SCALESIM_QUICK", "") not in ("", "0")


def _ron(value) -> str:
    """A Python value as a `--set` value: numbers, booleans and RON text as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Result:
    """A result folder, read back."""

    def __init__(self, folder: Path, stdout: str):
        self.folder = folder
        self.stdout = stdout
        self.summary = json.loads((folder / "summary.json").read_text())
        self.runs = pd.read_csv(folder / "runs.csv")
        self.series = pd.read_csv(folder / "timeseries.csv")
        self.points = self._points()

    def _points(self) -> pd.DataFrame:
        rows = []
        for p in self.summary["points"]:
            # Swept values under `param.<path>`, as in runs.csv: never mixed with a metric of
            # the same name (a swept `users.arrivals` beside the client's `users.arrivals`).
            row = {"variant": p["variant"], **{f"param.{k}": v for k, v in p["params"].items()}}
            for name, m in p["metrics"].items():
                row[name] = m["mean"]
                row[name + ".ci95"] = m["ci95"]
            for node, metrics in p.get("nodes", {}).items():
                for name, m in metrics.items():
                    row[f"{node}.{name}"] = m["mean"]
                    row[f"{node}.{name}.ci95"] = m["ci95"]
            rows.append(row)
        return pd.DataFrame(rows)

    def metric(self, name: str, variant: str | None = None, **params) -> float:
        """One metric's mean at one point: `r.metric("latency_p99_s", "naive")`."""
        df = self.points
        if variant is not None:
            df = df[df["variant"] == variant]
        for k, v in params.items():
            df = df[df[f"param.{k}"] == v]
        if len(df) != 1:
            raise KeyError(f"{len(df)} points match variant={variant} {params}")
        return float(df.iloc[0][name])

    def expectations(self) -> list[dict]:
        return self.summary.get("expectations", [])

    def show(self, plot: str = "timeseries"):
        """Displays one of scalesim's plots (`plots/NAME.svg`) in the notebook."""
        from IPython.display import SVG, display

        display(SVG(filename=str(self.folder / "plots" / f"{plot}.svg")))


def run(experiment: str, set: dict | None = None, out: str | None = None,
        replications: int | None = None) -> Result:
    """Runs an experiment (a path relative to the repository) and returns its results.

    `set` overrides model or experiment fields by dotted path, as `--set` does:
    `{"app.workers": 8, "users.arrivals.rate": 300.0}`.
    """
    if out:
        folder = Path(out)
    else:
        folder = Path(tempfile.mkdtemp(prefix="scalesim-"))
        _temporary.append(folder)
    args = [str(binary()), "run", str(ROOT / experiment), "--out", str(folder)]
    for key, value in (set or {}).items():
        args += ["--set", f"{key}={_ron(value)}"]
    if quick():
        # CI: fewer replications, the same story.
        replications = min(replications or 2, 2)
    if replications is not None:
        args += ["--replications", str(replications)]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(args)} failed:\n{done.stderr}")
    return Result(folder, done.stdout)


class PlanResult:
    """A search's result folder, read back: `answer` is plan.json."""

    def __init__(self, folder: Path, stdout: str):
        self.folder = folder
        self.stdout = stdout
        self.answer = json.loads((folder / "plan.json").read_text())
        self.runs = pd.read_csv(folder / "runs.csv")

    def points(self) -> pd.DataFrame:
        """Every evaluated point of a capacity plan: its values, verdict, objective, reason."""
        rows = []
        for verdict in ("feasible", "infeasible", "pruned"):
            for p in self.answer.get(verdict, []):
                row = {"verdict": verdict, "variant": p["variant"], **p["values"],
                       "runs": p["runs"], "objective": p["objective"]["mean"],
                       "reason": p.get("reason", "")}
                for c in p["constraints"]:
                    row[c["text"]] = c["value"]["mean"]
                rows.append(row)
        return pd.DataFrame(rows)

    def curve(self) -> pd.DataFrame:
        """A tipping point's P(recovered) per variant and probed trigger."""
        rows = []
        for variant, b in self.answer.get("boundaries", {}).items():
            for p in b["curve"]:
                rows.append({"variant": variant, **p})
        return pd.DataFrame(rows)

    def show(self, plot: str):
        from IPython.display import SVG, display

        display(SVG(filename=str(self.folder / "plots" / f"{plot}.svg")))


def plan(experiment: str, set: dict | None = None, out: str | None = None) -> PlanResult:
    """Answers an experiment's `plan:` block (`scalesim plan`) and returns the answer."""
    if out:
        folder = Path(out)
    else:
        folder = Path(tempfile.mkdtemp(prefix="scalesim-plan-"))
        _temporary.append(folder)
    args = [str(binary()), "plan", str(ROOT / experiment), "--out", str(folder)]
    for key, value in (set or {}).items():
        args += ["--set", f"{key}={_ron(value)}"]
    done = subprocess.run(args, capture_output=True, text=True)
    # Exit 1 is an answer too (nothing feasible, or an expectation failed).
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{shlex.join(args)} failed:\n{done.stderr}")
    return PlanResult(folder, done.stdout)
