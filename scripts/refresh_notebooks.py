"""Re-run tutorial notebooks in smoke mode and keep only light, checked outputs.

nbval (``--nbval-lax``) compares the outputs of cells marked ``# NBVAL_CHECK_OUTPUT``
with the outputs committed in the notebook, so those outputs must be committed and
current. Everything else is committed without outputs: no Plotly JSON, no widget
state, no audio. Run this after changing a notebook or the numbers it prints::

    .venv/bin/python scripts/refresh_notebooks.py [notebooks/NN_name.ipynb ...]
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
MAX_TEXT = 4000  # characters of text output kept in a checked cell


def light(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "NBVAL_CHECK_OUTPUT" in cell.source:
            cell.outputs = [o for o in cell.outputs
                            if o.output_type == "stream" and o.name == "stdout"
                            or (o.output_type == "execute_result" and "text/plain" in o.data
                                and set(o.data) == {"text/plain"})]
            for o in cell.outputs:
                if len(o.get("text", "")) > MAX_TEXT:
                    raise ValueError(f"checked output too long in cell:\n{cell.source[:200]}")
        else:
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb


def main(paths: list[str]) -> None:
    os.environ.setdefault("CI", "true")  # smoke mode, as under CI
    files = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    for path in files:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(light(nb), path)
        print(f"{path.name}: {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(sys.argv[1:])
