"""Time every tutorial notebook in smoke mode (as CI runs them).

Prints ``notebook_s NAME: X`` per notebook and ``notebooks_total_s: T``. Goal: the whole
notebooks suite under 5 minutes on these 2-core machines. The reference, measured in the
same run, is ``kernel_start_s``: a notebook that only imports hd_widgets and numpy
(the fixed cost every notebook pays, and a gauge of how loaded the machine is). Notebooks are executed in
memory with nbclient (the committed files are not touched).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("CI", "true")



def run(nb: nbformat.NotebookNode, folder: Path) -> float:
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - t0


empty = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy, hd_widgets")])
print(f"kernel_start_s: {run(empty, ROOT):.1f}", flush=True)
total = 0.0
for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
    if len(sys.argv) > 1 and not any(a in path.name for a in sys.argv[1:]):
        continue
    dt = run(nbformat.read(path, as_version=4), path.parent)
    total += dt
    print(f"notebook_s {path.stem}: {dt:.1f}", flush=True)
print(f"notebooks_total_s: {total:.1f}")
