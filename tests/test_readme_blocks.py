"""Every Python block of the README runs, in order, as a reader would paste them, and so
does every block of the guide the README links to (docs/guide.md), after them.

The blocks share one namespace (later blocks use ``space``, ``store``, ``plan`` from
earlier ones), run in a fresh folder, with a ``my_vowels/`` folder of recordings made
from the shipped corpus for the block that reads one.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
GUIDE = README.parent / "docs" / "guide.md"


def python_blocks(path: Path = README) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_blocks():
    assert len(python_blocks()) >= 4


def test_every_python_block_runs(tmp_path):
    from hd_widgets.speech.corpus import DEFAULT_CORPUS
    vowels = tmp_path / "my_vowels"
    vowels.mkdir()
    for wav in sorted(DEFAULT_CORPUS.glob("*.flac"))[::6]:          # 10 voices of the shipped corpus
        shutil.copy(wav, vowels / wav.name)
    blocks = [("README", b) for b in python_blocks()] + [("docs/guide.md", b)
                                                         for b in python_blocks(GUIDE)]
    script = "\n\n".join(f"# --- {where} block {i}\n{b}" for i, (where, b) in enumerate(blocks))
    (tmp_path / "readme_blocks.py").write_text(script)
    r = subprocess.run([sys.executable, "readme_blocks.py"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, f"a README block failed:\n{r.stderr[-3000:]}"
