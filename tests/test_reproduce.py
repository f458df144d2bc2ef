"""``python -m hd_widgets reproduce``: bad arguments, a small run's files and numbers, resume.

The small run uses the real pipeline (shipped corpus, simulated listener, store, network,
Langevin, HumanGAN, evaluation, report) with fewer particles and steps. Its numbers are
checked against the store and the plan, and against each other, not against hard-coded
outputs.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hd_widgets import __main__ as cli
from hd_widgets.study import reproduction as rep
from hd_widgets.study.config import ReproduceConfig
from hd_widgets.study.pipeline import PipelineConfig, humangan_pair
from hd_widgets.views.report import ROWS, markdown_table
from hd_widgets.study.claims import check_claims as claims
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.ratings.store import RatingsStore

BUDGET = 300
FAST = dict(particles=1000, steps=400, alpha=0.02, train_steps=400, gan_steps=300,
            eval_pages=6, eval_listeners=3)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hd_widgets", "reproduce", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------------- bad arguments
def _bad_corpus(tmp: Path) -> Path:
    folder = tmp / "corpus"
    folder.mkdir()
    (folder / "notes.wav").write_text("this is not audio")
    sf.write(folder / "click.wav", np.ones(800) * 0.1, 16000)        # 0.05 s: too short
    return folder


@pytest.mark.parametrize("case, args, names", [
    ("listener", ["--listener", "robot"], ["listener", "robot"]),
    ("budget", ["--budget", "-5"], ["--budget", "-5"]),
    # a budget no machine can plan passes no longer: the one-line error comes first
    ("huge budget", ["--budget", "1000000000"], ["--budget", "1000000000", "200,000"]),
    ("steps", ["--steps", "0"], ["--steps", "0"]),
    ("alpha", ["--alpha", "nan"], ["--alpha", "nan"]),
    ("out", ["--out", "{file}/sub"], ["output folder"]),
    ("corpus", ["--corpus", "{corpus}"], ["corpus", "no usable audio"]),
])
def test_bad_arguments_fail_fast_with_one_line(tmp_path, case, args, names):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    corpus = _bad_corpus(tmp_path) if case == "corpus" else None
    args = [a.format(file=a_file, corpus=corpus) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "new" / "out")]
    before = sorted(p.name for p in tmp_path.iterdir())
    r = run_cli(*args, cwd=tmp_path)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("hd_widgets") and "error" in lines[0]
    for name in names:
        assert name in lines[0]
    assert r.stdout == ""                                  # no stage was started
    assert sorted(p.name for p in tmp_path.iterdir()) == before   # nothing left behind


def test_unvoiced_corpus_fails_before_anything_is_written(tmp_path):
    folder = tmp_path / "noise"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):                                     # readable, but no pitch anywhere
        sf.write(folder / f"noise{i}.wav", 0.1 * rng.standard_normal(16000), 16000)
    r = run_cli("--corpus", str(folder), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "unvoiced" in r.stderr
    assert not (tmp_path / "out").exists()


def test_a_given_corpus_is_read_once(tmp_path, monkeypatch, capsys):
    """Validation reads the folder; the run reuses that corpus instead of reading it again."""
    from hd_widgets.speech.corpus import Corpus
    folder = tmp_path / "noise"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        sf.write(folder / f"noise{i}.wav", 0.1 * rng.standard_normal(16000), 16000)
    reads, real = [], Corpus.from_folder.__func__
    monkeypatch.setattr(Corpus, "from_folder",
                        classmethod(lambda cls, *a, **k: reads.append(a) or real(cls, *a, **k)))
    assert cli.main(["reproduce", "--corpus", str(folder), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert len(reads) == 1 and "unvoiced" in capsys.readouterr().err


def test_read_only_output_folder(tmp_path):
    if os.geteuid() == 0:          # root writes anywhere on a disk; /proc refuses even root
        out = Path("/proc/hd_widgets_reproduce_out")
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        out = ro / "out"
    try:
        problem, corpus = cli.validate(cli._parser().parse_args(["reproduce", "--out", str(out)]))
        assert problem is not None and "not writable" in problem and str(out) in problem
        assert corpus is None
        assert not out.exists()
    finally:
        if out.parent != Path("/proc"):
            out.parent.chmod(0o700)


def test_the_writability_probe_leaves_nothing_behind(tmp_path):
    assert cli._probe_output(tmp_path / "a" / "b" / "c") is None
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    assert cli._probe_output(tmp_path / "kept") is None
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []


# ---------------------------------------------------------------------- a small run
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("repro")
    return out, cli.run(budget=BUDGET, seed=0, out=out, verbose=False, **FAST)


def test_report_is_self_contained_with_three_figures_and_the_table(run):
    out, result = run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("Plotly.newPlot(") == 3
    assert len(re.findall(r"\* plotly\.js [^\n]{0,40}v\d", page)) == 1   # the library, embedded once
    assert not re.search(r"<script[^>]*\bsrc=", page)             # nothing fetched: opens offline
    assert not re.search(r"src=[\"'][^\"']*cdn\.plot\.ly", page)  # bundle names it only for geo maps
    for label in ROWS.values():
        assert label in page
    for stage in rep.STAGES[:-1]:
        assert f"<td>{stage}</td>" in page
    assert f"--budget {BUDGET}" in page
    assert "<h2>Rounds</h2>" in page and page.count("<tr><td>") >= 3


def test_results_hold_every_number_and_they_are_sane(run):
    out, result = run
    assert json.loads((out / "results.json").read_text()) == result
    rows = result["table"]["rows"]
    assert list(ROWS) == sorted(rows, key=list(ROWS).index) and set(rows) == set(ROWS)
    for k in ("real", "pH", "humandiffusion", "floor", "humangan_early", "humangan_collapsed"):
        for col in ("variance", "variance_ratio", "energy_to_pH"):
            assert np.isfinite(rows[k][col]) and rows[k][col] >= 0, (k, col)
    hd, early, coll = rows["humandiffusion"], rows["humangan_early"], rows["humangan_collapsed"]
    assert rows["real"]["variance_ratio"] == 1.0 and rows["real"]["variance"] == pytest.approx(2.0)
    assert hd["variance_ratio"] > 1                                     # the paper's claim
    assert coll["variance_ratio"] < early["variance_ratio"] < hd["variance_ratio"]
    # the floor is the best a sampler can do; the resolution (pH row) is below everything
    assert rows["floor"]["energy_to_pH"] < hd["energy_to_pH"] + 0.05
    assert rows["pH"]["energy_to_pH"] < min(hd["energy_to_pH"], early["energy_to_pH"]) + 0.02
    assert hd["energy_to_pH"] < early["energy_to_pH"] < coll["energy_to_pH"]
    assert hd["energy_to_pH"] < rows["real"]["energy_to_pH"]
    assert set(result["seconds"]) == set(rep.STAGES[:-1]) | {"report"}


def test_claims_hold_the_run_against_p_h_and_check_the_collapse(run):
    _, result = run
    rows = result["table"]["rows"]
    text = claims(result)
    assert f"variance ratio {rows['humandiffusion']['variance_ratio']:.2f} (> 1: yes)" in text[0]
    assert f"exact p_H samples: {rows['pH']['variance_ratio']:.2f}" in text[0]
    assert "far from it" not in text[0]                     # 300 ratings shape the region
    coll = rows["humangan_collapsed"]["variance_ratio"]
    assert f"variance ratio {coll:.3f} (< 0.3: {'yes' if coll < 0.3 else 'NO'})" in text[1]
    assert not any("ran away" in c for c in text)
    # too few ratings: HumanDiffusion far wider than p_H is flagged, not passed off
    wide = json.loads(json.dumps(result))
    wide["table"]["rows"]["humandiffusion"]["variance_ratio"] = 3 * rows["pH"]["variance_ratio"]
    assert f"far from it: {BUDGET} ratings were too few" in claims(wide)[0]


def test_a_humangan_that_runs_away_is_caught_and_reported(run):
    """A score with no pull back (here a real network set to a constant outward field)
    sends HumanGAN off; the run goes on, and the row, table and claims say so."""
    import torch
    from hd_widgets.method.network import ScoreNet, ScoreNetConfig
    net = ScoreNet(ScoreNetConfig(d=2)).eval()
    with torch.no_grad():                                   # score = (5, 5) everywhere
        net.head_g.weight.zero_(); net.head_g.bias.fill_(5.0)
        net.head_D.weight.zero_(); net.head_D.bias.fill_(10.0)
    cfg = PipelineConfig(budget=BUDGET, particles=500, steps=20, alpha=1e-4)
    space = FeatureSpace.default(2)
    samples, _, _, ran_away = humangan_pair(net.score_fn(), space.points, cfg)
    assert set(ran_away) == {"humangan_collapsed"} and cfg.gan_early_stop < ran_away["humangan_collapsed"]
    assert np.abs(samples["humangan_collapsed"]).max() > 100 > np.abs(samples["humangan_early"]).max()
    _, result = run
    gone = json.loads(json.dumps(result))
    gone["table"]["rows"]["humangan_collapsed"]["ran_away_at_step"] = ran_away["humangan_collapsed"]
    step = ran_away["humangan_collapsed"]
    text = claims(gone)
    assert f"HumanGAN did not collapse, it ran away: at ascent step {step}" in text[1]
    assert not any("collapses when trained on" in c for c in text)
    table = markdown_table(gone)
    assert f"| HumanGAN, trained on (ran away at ascent step {step}) |" in table
    assert f"HumanGAN, trained on: ran away at ascent step {step}" in table


def test_ratings_spent_are_what_the_plan_said(run):
    out, result = run
    t, s = result["table"], result["store"]
    cfg = ReproduceConfig(budget=BUDGET, **{k: v for k, v in FAST.items()})
    name = rep.study_name(FeatureSpace.default(2), cfg)
    assert s["nes_plans"] == [f"{name}-r{k}" for k in range(3)]   # the same seeded study
    assert [r["ratings"] for r in result["rounds"]] == [120, 90, 90]
    assert result["rounds"][0]["fitted_on_ratings"] == 0 < result["rounds"][1]["fitted_on_ratings"] \
        <= 120 < result["rounds"][2]["fitted_on_ratings"] <= 210
    # where every fit's chains started is on record, and in the report
    assert result["chains_from"] in ("data", "resampled")
    assert [r["chains_from"] in ("data", "resampled") for r in result["rounds"]] == [False, True, True]
    from hd_widgets.views.report import rounds_html
    html = rounds_html(result)
    assert "chains started from" in html and "The final fit's Langevin chains started from" in html
    with RatingsStore(out / rep.STORE_NAME) as store:
        ratings = [r for n in s["nes_plans"] for r in store.ratings(n)]
        assert sum(store.plan(n).n_ratings for n in s["nes_plans"]) == s["nes_ratings_planned"] == len(ratings)
        assert t["ratings_spent"] == len(ratings) == 2 * (BUDGET // 2)
        assert t["ratings_resumed"] == 0 and t["ratings_new_this_run"] == len(ratings)
        ev = store.table(s["evaluation_plan"])
    pages = FAST["eval_pages"] * FAST["eval_listeners"]
    assert s["evaluation_ratings"] == len(ev["value"]) == pages * 9   # 9 clips per page
    rows = t["rows"]
    for kind, per_page in [("real", 2), ("humandiffusion", 2), ("pH", 1), ("anchor", 1)]:
        assert rows[kind]["evaluation_n"] == pages * per_page == np.sum(ev["kind"] == kind)
        assert rows[kind]["evaluation_mean"] == pytest.approx(
            ev["value"][ev["kind"] == kind].mean(), abs=1e-4)
    assert rows["anchor"]["evaluation_mean"] < 0.3 < 0.7 < rows["real"]["evaluation_mean"]
    assert rows["floor"]["evaluation_n"] == 0 and rows["floor"]["evaluation_mean"] is None


# ---------------------------------------------------------------------- resume
def _submissions(store: RatingsStore, plan: str) -> list[tuple[str, int]]:
    return [(r.rater, r.query) for r in store.ratings(plan) if r.clip == 0]


def test_a_second_run_spends_no_new_ratings(run):
    out, first = run
    again = cli.run(budget=BUDGET, seed=0, out=out, verbose=False, **FAST)
    t = again["table"]
    assert t["ratings_new_this_run"] == 0
    assert t["ratings_resumed"] == t["ratings_spent"] == first["table"]["ratings_spent"]
    assert again["store"]["evaluation_ratings_new_this_run"] == 0
    assert again["store"]["evaluation_plan"] == first["store"]["evaluation_plan"]
    assert again["table"]["rows"] == first["table"]["rows"]


def _interrupt_after(monkeypatch, n: int) -> None:
    """Ctrl-C at the listener's ``n``-th page (during the listening stage)."""
    from hd_widgets.ratings.listeners import SimulatedListener
    real_rate, calls = SimulatedListener.rate, []

    def rate_then_interrupt(listener, points, rng=None):
        if len(calls) == n:
            raise KeyboardInterrupt
        calls.append(1)
        return real_rate(listener, points, rng)
    monkeypatch.setattr(SimulatedListener, "rate", rate_then_interrupt)


def test_an_interrupt_gets_one_line_and_keeps_the_ratings(tmp_path, monkeypatch, capsys):
    _interrupt_after(monkeypatch, 37)
    code = cli.main(["reproduce", "--budget", str(BUDGET), "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130 and len(err) == 1 and "resume" in err[0]
    with RatingsStore(tmp_path / rep.STORE_NAME) as store:
        (plan,) = store.plan_names()                          # round 0 of the study
        assert len(store.ratings(plan)) == 2 * 37


def test_an_interrupted_run_resumes_without_duplicates(run, tmp_path, monkeypatch):
    _, uninterrupted = run
    _interrupt_after(monkeypatch, 37)
    with pytest.raises(KeyboardInterrupt):
        cli.run(budget=BUDGET, seed=0, out=tmp_path, verbose=False, **FAST)
    monkeypatch.undo()
    plan = uninterrupted["store"]["nes_plan"]                 # round 0 of the same study
    with RatingsStore(tmp_path / rep.STORE_NAME) as store:
        assert len(store.ratings(plan)) == 2 * 37 and store.plan_names() == [plan]

    resumed = cli.run(budget=BUDGET, seed=0, out=tmp_path, verbose=False, **FAST)
    t = resumed["table"]
    assert t["ratings_resumed"] == 2 * 37
    assert t["ratings_new_this_run"] == t["ratings_spent"] - 2 * 37 > 0
    with RatingsStore(tmp_path / rep.STORE_NAME) as store:
        for name in resumed["store"]["nes_plans"]:
            subs = _submissions(store, name)
            assert len(subs) == len(set(subs)) == store.plan(name).n_ratings // 2
        assert sum(len(store.ratings(n)) for n in resumed["store"]["nes_plans"]) == t["ratings_spent"]
    # each query's noise depends on (seed, round, query) only, and each round's plan on the
    # ratings before it: the same rounds and numbers as without the break
    assert resumed["store"]["nes_plans"] == uninterrupted["store"]["nes_plans"]
    assert resumed["rounds"] == uninterrupted["rounds"]
    assert t["rows"] == uninterrupted["table"]["rows"]


def test_the_fixed_plan_is_a_named_option(tmp_path):
    """``--rounds 1``: today's plan around the real data, one network."""
    out = cli.run(budget=BUDGET, seed=0, out=tmp_path, verbose=False, rounds=1, **FAST)
    plan = rep.nes_plan_for(FeatureSpace.default(2), BUDGET, 0)
    assert out["store"]["nes_plans"] == [plan.name] and out["engine"]["networks"] == 1
    assert "--rounds 1" in out["command"]
    with RatingsStore(tmp_path / rep.STORE_NAME) as store:
        assert len(store.ratings(plan.name)) == plan.n_ratings == out["table"]["ratings_spent"]
    assert out["table"]["rows"]["humandiffusion"]["variance_ratio"] > 1
    assert "<h2>Rounds</h2>" not in (tmp_path / "report.html").read_text()


def test_files_left_out_of_a_corpus_are_reported(tmp_path, capsys):
    """--corpus with a bad file: the run goes on without it and says so, on the terminal
    and in results.json."""
    import shutil
    from hd_widgets.speech.corpus import DEFAULT_CORPUS
    folder = tmp_path / "vowels"
    folder.mkdir()
    for wav in sorted(DEFAULT_CORPUS.glob("*.flac"))[::6]:
        shutil.copy(wav, folder / wav.name)
    (folder / "notes.wav").write_text("this is not audio")
    out = cli.run(budget=100, seed=0, out=tmp_path / "out", verbose=False, rounds=1,
                  corpus=folder, **FAST)
    assert out["corpus_skipped"] and out["corpus_skipped"][0]["file"] == "notes.wav"
    assert "notes.wav" in capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "results.json").read_text())["corpus_skipped"] == out["corpus_skipped"]
