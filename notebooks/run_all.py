"""Executes every notebook top to bottom, headless; exits 1 naming the first that fails.

    python notebooks/run_all.py            # all notebooks, as CI does (with SCALESIM_QUICK=1)
    python notebooks/run_all.py 03         # those whose name contains "03"

Each executed notebook, outputs and all (or as far as it got), is saved to
$SCALESIM_NOTEBOOKS_OUT (default target/notebooks/) for reading after a CI run.
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
OUT = Path(os.environ.get("SCALESIM_NOTEBOOKS_OUT", HERE.parent / "target" / "notebooks"))


def main() -> int:
    wanted = sys.argv[1:]
    books = sorted(p for p in HERE.glob("*.ipynb") if not wanted or any(w in p.name for w in wanted))
    if not books:
        print("no notebooks match", wanted, file=sys.stderr)
        return 2
    for book in books:
        start = time.time()
        nb = nbformat.read(book, as_version=4)
        client = NotebookClient(nb, timeout=900, kernel_name="python3",
                                resources={"metadata": {"path": str(HERE)}})
        OUT.mkdir(parents=True, exist_ok=True)
        try:
            client.execute()
        except Exception as e:  # the cell's error, with its traceback
            nbformat.write(nb, OUT / book.name)
            print(f"FAIL {book.name} (saved in {OUT}):\n{e}", file=sys.stderr)
            return 1
        nbformat.write(nb, OUT / book.name)
        print(f"ok   {book.name} ({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main())
