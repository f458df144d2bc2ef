"""The house: stages import one way, and the headless path never loads the front end.

The package is laid out as the data flows (README, "Layout"); a module may import only
from its own stage or an earlier one. The walk below reads every import statement of the
package (module level and inside functions) with ``ast``, so a lazy import against the
direction fails here too.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "hd_widgets"
STAGES = ["speech", "ratings", "method", "study", "views", "widgets"]
BASE = {"hd_widgets", "hd_widgets._lazy", "hd_widgets.seeding"}   # importable by every stage
TOP = {"hd_widgets.__main__"}                                      # may import every stage


def _module(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _rank(module: str) -> int:
    if module in TOP:
        return len(STAGES) + 1
    if module in BASE:
        return 0
    stage = module.split(".")[1]
    assert stage in STAGES, f"{module} is not in a stage subpackage (README, Layout)"
    return STAGES.index(stage) + 1


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every hd_widgets import in one file."""
    me = _module(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("hd_widgets"):
                if node.module is None or target in BASE | {"hd_widgets"}:
                    # "from . import x": each name may be a submodule
                    for alias in node.names:
                        sub = f"{target}.{alias.name}"
                        out.append((node.lineno, sub if (PKG.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                                    or (PKG.parent / sub.replace(".", "/")).is_dir() else target))
                else:
                    out.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("hd_widgets")]
    return out


FILES = sorted(PKG.rglob("*.py"))


def test_every_module_sits_in_a_stage():
    for path in FILES:
        _rank(_module(path))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_run_with_the_data_flow(path):
    me = _module(path)
    wrong = [f"line {line}: {me} ({STAGES[_rank(me) - 1] if 0 < _rank(me) <= len(STAGES) else 'base'})"
             f" imports {target}" for line, target in _imports(path)
             if _rank(target) > _rank(me)]
    assert not wrong, "imports against the data flow (speech -> ratings -> method -> study " \
                      "-> views -> widgets):\n" + "\n".join(wrong)


def test_the_walk_sees_a_violation(tmp_path):
    """The checker itself: a stage that imports a later one is caught, lazily too."""
    probe = PKG / "method" / "_layout_probe.py"
    probe.write_text("def f():\n    from ..widgets.rating import RatingWidget\n")
    try:
        assert _rank(_imports(probe)[0][1]) > _rank(_module(probe))
    finally:
        probe.unlink()


# the front-end libraries and the stages that may import them (docs/layout.md): figures are
# drawn in views, and widgets draw the ones that change as people rate (FigureWidget)
FRONT_END = {"plotly": {"views", "widgets"}, "ipywidgets": {"widgets"},
             "anywidget": {"widgets"}, "ipyevents": {"widgets"}}


def _third_party(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in one file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[0]) for a in node.names]
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_only_views_and_widgets_import_the_front_end(path):
    me = _module(path)
    stage = me.split(".")[1] if me not in BASE | TOP else None
    wrong = [f"line {line}: {me} imports {lib} (allowed in {sorted(FRONT_END[lib])} only)"
             for line, lib in _third_party(path)
             if lib in FRONT_END and stage not in FRONT_END[lib]]
    assert not wrong, "\n".join(wrong)


def test_the_front_end_walk_sees_a_violation():
    probe = PKG / "method" / "_front_end_probe.py"
    probe.write_text("def f():\n    import plotly.graph_objects as go\n")
    try:
        assert _third_party(probe) == [(2, "plotly")]
        with pytest.raises(AssertionError, match="imports plotly"):
            test_only_views_and_widgets_import_the_front_end(probe)
    finally:
        probe.unlink()

HEADLESS = """
import sys
import hd_widgets, hd_widgets.__main__, hd_widgets.study.reproduction, hd_widgets.study.pipeline
import hd_widgets.method, hd_widgets.speech, hd_widgets.ratings
for name in ("ScoreNet", "langevin", "HumanGAN", "from_store", "PerceptionMap", "fidelity"):
    getattr(hd_widgets.method, name)
for name in ("FeatureSpace", "RatingsStore", "SimulatedListener", "train", "run_pipeline",
             "reproduce", "answer", "plan_for_budget"):
    getattr(hd_widgets, name)
front = sorted(m for m in sys.modules if m.split(".")[0] in ("ipywidgets", "plotly", "anywidget", "ipyevents"))
print(",".join(front))
"""


def test_the_headless_path_leaves_the_front_end_unloaded():
    r = subprocess.run([sys.executable, "-c", HEADLESS], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"the headless path imported {r.stdout.strip()}"


def test_the_command_line_checks_arguments_without_the_engine():
    code = ("import sys, hd_widgets.__main__ as m; m.validate; "
            "print(','.join(sorted(k for k in ('torch', 'plotly', 'ipywidgets') if k in sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_every_public_name_loads():
    import hd_widgets
    for name in hd_widgets.__all__:
        assert getattr(hd_widgets, name) is not None, name
    for stage in STAGES:
        mod = __import__(f"hd_widgets.{stage}", fromlist=["_"])
        for name in mod.__all__:
            assert getattr(mod, name) is not None, f"hd_widgets.{stage}.{name}"
