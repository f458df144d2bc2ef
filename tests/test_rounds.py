"""A study in rounds: sized up front, planned once, deterministic from its store, resumable."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hd_widgets.ratings.listeners import SimulatedListener
from hd_widgets.ratings.plan import nes_arrays
from hd_widgets.ratings.store import RatingsStore
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.study.rounds import CLOUD_POINTS, RoundsConfig, RoundsStudy, choose_centres

SMALL = dict(budget=80, steps=200, particles=300, final_networks=2)


@pytest.fixture(scope="module")
def space():
    return FeatureSpace.default(2)


def _submissions(store: RatingsStore) -> list[tuple[str, str, int]]:
    return [(r.plan, r.rater, r.query) for r in store.ratings() if r.clip == 0]


def test_sizes_are_fixed_up_front_and_spend_the_budget():
    c = RoundsConfig(budget=501)
    assert c.sizes() == [200, 150, 150] and sum(c.sizes()) == 500
    assert RoundsConfig(budget=333).sizes() == [136, 98, 98]       # the remainder goes to round 0
    assert RoundsConfig.fixed(budget=500).sizes() == [500]


@pytest.mark.parametrize("budget", [10, 40, 59])
def test_a_budget_too_small_for_the_rounds_is_refused_clearly(budget):
    with pytest.raises(ValueError, match=r"too small for 3 rounds.*at least \d+ ratings"):
        RoundsConfig(budget=budget)
    RoundsConfig(budget=RoundsConfig().min_budget())          # the figure it gives works


def test_a_study_opened_again_with_other_sizes_is_refused(tmp_path, space):
    with RatingsStore(tmp_path / "s.sqlite") as store:
        RoundsStudy(store, space.points, RoundsConfig(**SMALL)).close()
        for change in (dict(budget=100), dict(shares=(0.5, 0.25, 0.25)), dict(shares=(1,))):
            with pytest.raises(ValueError, match="was started with budget=80"):
                RoundsStudy(store, space.points, RoundsConfig(**{**SMALL, **change}))
        # the same shares in other units are the same study; another name is another study
        RoundsStudy(store, space.points, RoundsConfig(**SMALL, shares=(4, 3, 3))).close()
        RoundsStudy(store, space.points, RoundsConfig(**{**SMALL, "budget": 100}),
                    name="other").close()
        assert sorted(store.plan_names()) == ["other-r0", "study-r0"]


def test_the_start_of_the_chains_is_a_named_choice():
    assert RoundsConfig().start == "auto" and RoundsConfig(start="resampled").refine_steps == 100
    with pytest.raises(ValueError, match="start must be 'auto', 'resampled' or 'data'"):
        RoundsConfig(start="noise")
    with pytest.raises(ValueError, match="refine_steps"):
        RoundsConfig(refine_steps=0)
    for bad in (-0.1, 1.5, float("nan"), "0.25"):
        with pytest.raises(ValueError, match="min_ess must be a share between 0 and 1"):
            RoundsConfig(min_ess=bad)


def test_resampled_starts_are_placed_by_networks_on_the_short_schedule():
    """The D that places resampled starts comes from networks trained on the short
    schedule: the score's own when they already are, others (as many, seeded alike) when
    the score's train on the long one; "score" and chains from the data keep the score's."""
    from hd_widgets.method.ensemble import train_ensemble
    from hd_widgets.method.network import LONG_SCHEDULE_PAIRS, ScoreNetConfig
    from hd_widgets.study.rounds_fit import start_networks
    from test_network import gaussian_estimate      # pytest puts tests/ on sys.path
    with pytest.raises(ValueError, match="start_schedule must be 'auto', 'short' or 'score'"):
        RoundsConfig(start_schedule="long")
    config = RoundsConfig(budget=200, network={"steps": 3})
    for pairs, trained in ((LONG_SCHEDULE_PAIRS - 1, False), (LONG_SCHEDULE_PAIRS, True)):
        est = gaussian_estimate(2, P=pairs)
        ens = train_ensemble(est, 2, seed=5, config=ScoreNetConfig.for_estimate(est, steps=3))
        placing = start_networks(est, ens, config, "auto", seed=5)
        assert (placing is not ens) == trained
        assert len(placing) == 2 and placing.config.lr == 3e-3 and placing.config.steps == 3
        assert [n.config.seed for n in placing.networks] == [5, 6]
        assert start_networks(est, ens, config, "data", seed=5) is ens
    assert start_networks(est, ens, config.with_(start_schedule="score"), "resampled",
                          seed=5) is ens



def test_the_auto_schedule_places_starts_by_the_score_where_its_proposals_carry_it():
    """start_schedule="auto": the score's own networks place resampled starts where their
    proposals' effective share reaches min_ess (nothing else is trained); below it the
    short-schedule networks do, and "auto" starts still fall back to the data when those
    are thin too. Where the score's networks are the short ones, they are used as they
    are. The default is "auto"."""
    from hd_widgets.method.ensemble import train_ensemble
    from hd_widgets.method.network import LONG_SCHEDULE_PAIRS, ScoreNetConfig
    from hd_widgets.method.sampling import ThinProposals
    from hd_widgets.study.rounds_fit import chain_starts, place_starts
    from test_network import gaussian_estimate      # pytest puts tests/ on sys.path
    assert RoundsConfig().start_schedule == "auto"
    est = gaussian_estimate(2, P=LONG_SCHEDULE_PAIRS)
    data = np.unique(est.anchor, axis=0)
    ens = train_ensemble(est, 2, seed=5, config=ScoreNetConfig.for_estimate(est, steps=3))
    assert ens.config.lr == 1e-2                                   # the long schedule's
    base = RoundsConfig(budget=200, network={"steps": 3})
    # min_ess 0: any share will do; min_ess 1: none will (it needs D proportional to the kernel)
    x0, run, used, by = place_starts(est, ens, data, base.with_(min_ess=0.0), 300, "auto", seed=1)
    assert (used, by, run) == ("resampled", "score", {"n_steps": base.refine_steps})
    same, *_ = chain_starts(ens, data, base.with_(min_ess=0.0), 300, "auto", seed=1, est=est)
    np.testing.assert_array_equal(x0, same)                        # the score's own D
    with pytest.raises(ThinProposals):
        chain_starts(ens, data, base.with_(min_ess=1.0), 300, "auto", seed=1, est=est,
                     min_ess=1.0)
    x0, run, used, by = place_starts(est, ens, data, base.with_(min_ess=1.0), 300,
                                     "resampled", seed=1)
    assert (used, by) == ("resampled", "short")                    # thin: the short networks
    x0, run, used, by = place_starts(est, ens, data, base.with_(min_ess=1.0), 300, "auto", seed=1)
    assert (used, by) == ("data", None) and x0 is data and run["n_steps"] == base.steps
    for schedule, placed in (("short", "short"), ("score", "score")):
        *_, by = place_starts(est, ens, data, base.with_(min_ess=0.0, start_schedule=schedule),
                              300, "auto", seed=1)
        assert by == placed
    short = train_ensemble(est, 2, seed=5, config=ScoreNetConfig.for_estimate(
        est, schedule="short", steps=3))
    *_, by = place_starts(est, short, data, base.with_(min_ess=0.0), 300, "auto", seed=1)
    assert by == "score"                                           # already the short ones


@pytest.mark.parametrize("d", [2, 5])
def test_resampled_starts_stay_within_the_reach_of_the_ratings(d):
    """A D head that stays high far from every rated point (an untrained one's is about
    0.6 everywhere) draws resampled starts out there, where the proposal is thin and each
    weight large; weighted by within_reach, as the chains' score is blended home there,
    no start lies a width beyond the reach. Without the estimate, or with
    home_beyond_reach off, the starts are drawn from the network's D alone."""
    from scipy.spatial import cKDTree
    from hd_widgets.method.ensemble import train_ensemble
    from hd_widgets.method.far import rated_reach
    from hd_widgets.method.network import ScoreNetConfig
    from hd_widgets.study.rounds_fit import chain_starts
    from test_network import gaussian_estimate      # pytest puts tests/ on sys.path
    est = gaussian_estimate(d, P=200)
    ens = train_ensemble(est, 2, seed=5, config=ScoreNetConfig.for_estimate(est, steps=3))
    data = np.unique(est.anchor, axis=0)
    config = RoundsConfig(budget=200, spread=3.0)              # proposals well past the reach
    far = rated_reach(est) + est.sigma_p
    beyond = {}
    for key, e, c in (("within", est, config), ("no estimate", None, config),
                      ("off", est, config.with_(home_beyond_reach=False))):
        x0, run, used = chain_starts(ens, data, c, 2000, "resampled", seed=0, est=e)
        assert used == "resampled" and run == {"n_steps": config.refine_steps}
        beyond[key] = float(np.mean(cKDTree(data).query(x0)[0] > far))
    assert beyond["within"] == 0.0
    assert beyond["no estimate"] == beyond["off"] > 0.1


def test_the_final_fit_trains_on_the_long_schedule_from_enough_pairs_per_dimension(
        tmp_path, space):
    """The study's final networks train on the long schedule from ``final_long_per_dim``
    rated pairs per dimension (or LONG_SCHEDULE_PAIRS, if that comes first), the round-
    planning fits from LONG_SCHEDULE_PAIRS only unless ``plan_long_per_dim`` says otherwise;
    the starts are then placed by networks on the short schedule."""
    for bad in (0, -1, True, "50", float("nan")):
        with pytest.raises(ValueError, match="final_long_per_dim must be a positive number"):
            RoundsConfig(final_long_per_dim=bad)
    assert RoundsConfig().final_long_per_dim == 50
    lis = SimulatedListener.from_data(space.points, seed=1)
    with RatingsStore(tmp_path / "s.sqlite") as store:
        config = RoundsConfig(budget=80, steps=50, particles=200, final_networks=2,
                              network={"steps": 20})
        study = RoundsStudy(store, space.points, config)
        study.rate_with(lis)
        pairs = len(study.fit(particles=100).estimate.pair_point)          # 40 pairs, d = 2
        lr = {}
        for per in (pairs / 2, pairs / 2 + 0.5, None):           # at, just past, rule off
            other = RoundsStudy(store, space.points, config.with_(final_long_per_dim=per))
            lr[per] = other.fit(particles=100).network.config.lr
            other.close()
        assert lr == {pairs / 2: 1e-2, pairs / 2 + 0.5: 3e-3, None: 3e-3}
        est, ens, _, _, _ = study.fit_rounds([study.plan_name(0)], max_rating_id=None,
                                          networks=1, seed=[0, 1])
        assert ens.config.lr == 3e-3                                 # a round's planning fit
        # each round's lineage says how its planning networks trained
        assert [store.plan(study.plan_name(k)).config["lineage"]["training"]
                for k in (1, 2)] == [{"steps": 20, "lr": 3e-3}] * 2
        study.close()
    for bad in (0, -1, True, "50", float("nan")):
        with pytest.raises(ValueError, match="plan_long_per_dim must be a positive number"):
            RoundsConfig(plan_long_per_dim=bad)
    with RatingsStore(tmp_path / "p.sqlite") as store:     # the same rule for the planning
        per = 5                                             # fits: long from 10 pairs in d = 2
        study = RoundsStudy(store, space.points, config.with_(plan_long_per_dim=per))
        study.rate_with(lis)
        lineages = [store.plan(study.plan_name(k)).config["lineage"] for k in (1, 2)]
        assert all(lin["ratings"] >= 2 * per * 2 for lin in lineages)
        assert [lin["training"]["lr"] for lin in lineages] == [1e-2, 1e-2]
        assert study.replan(2).fingerprint() == store.plan(study.plan_name(2)).fingerprint()
        study.close()


def test_a_round_is_deterministic_given_the_store_and_the_seed(tmp_path, space):
    lis = SimulatedListener.from_data(space.points, seed=1)
    with RatingsStore(tmp_path / "s.sqlite") as store:
        study = RoundsStudy(store, space.points, RoundsConfig(**SMALL))
        study.rate_with(lis)
        assert study.finished() and study.round == 2
        for k in range(3):
            stored = store.plan(study.plan_name(k))
            assert study.replan(k).fingerprint() == stored.fingerprint()
            assert stored.config["round"] == k and stored.config["lineage"]["seed"] == [0, k]
        # each later round was fitted on the earlier rounds' ratings, and asks elsewhere
        lin = store.plan(study.plan_name(2)).config["lineage"]
        assert lin["rounds"] == [0, 1] and 0 < lin["ratings"] <= sum(RoundsConfig(**SMALL).sizes()[:2])
        c0, c2 = (nes_arrays(store.plan(study.plan_name(k)))[0] for k in (0, 2))
        assert not np.allclose(c0[: len(c2)], c2)
        # the cloud that placed each later round is stored with it: a restarted kernel sees it
        restarted = RoundsStudy(store, space.points, RoundsConfig(**SMALL))
        sizes = RoundsConfig(**SMALL).sizes()
        clouds = restarted.clouds()
        assert sorted(clouds) == [1, 2]
        for k in (1, 2):
            live = study._clouds[k]                                # the particles it planned with
            np.testing.assert_array_equal(study.clouds()[k], clouds[k])   # one cloud for everyone
            assert clouds[k].shape == (min(CLOUD_POINTS, len(live)), 2)
            # the stored points are the live particles, rounded to 3 decimals
            near = np.abs(clouds[k][:, None, :] - live[None, :, :]).max(axis=2).min(axis=1)
            assert near.max() <= 5e-4
        res = study.fit()
        assert res.ratings == sum(RoundsConfig(**SMALL).sizes()) == len(store.ratings())
        assert sorted(study.clouds()) == [1, 2, 3] and sorted(restarted.clouds()) == [1, 2]
        # the study at a glance: a panel per cloud, each with the pages that cloud placed
        from hd_widgets.views.rounds import page_centres, rounds_figure
        fig = rounds_figure(restarted)
        assert [a.text for a in fig.layout.annotations] == [
            f"after round {k} ({sum(sizes[:k])} ratings)" for k in (1, 2)]
        placed = [t for t in fig.data if t.legendgroup == "placed"]
        for k, t in zip((1, 2), placed):
            np.testing.assert_allclose(np.c_[t.x, t.y],
                                       page_centres(study, study.plans()[k], answered=False))
        assert len([t for t in fig.data if t.legendgroup == "rated"][1].x) == sum(sizes[:2]) // 2
        assert len(rounds_figure(study).layout.annotations) == 3       # and the final fit
        with RatingsStore(tmp_path / "empty.sqlite") as fresh:
            with pytest.raises(ValueError, match="no cloud yet"):
                rounds_figure(RoundsStudy(fresh, space.points, RoundsConfig(**SMALL)))
        assert res.samples.shape == (300, 2) and np.isfinite(res.samples).all()
        np.testing.assert_array_equal(study.fit().samples, res.samples)     # a fit is seeded
        # denoise: the same chains, their last step's noise taken out with the fit's own score
        import torch
        from hd_widgets.method.far import home_beyond_reach
        raw, den = (RoundsStudy(store, space.points, RoundsConfig(**SMALL, denoise=v)).fit()
                    for v in (False, True))
        score = home_beyond_reach(raw.network.score_fn(), raw.estimate)
        step = score(torch.as_tensor(raw.samples, dtype=torch.float32)).numpy()
        np.testing.assert_allclose(den.samples, raw.samples + RoundsConfig().alpha * step,
                                   atol=1e-5)
        assert not np.allclose(den.samples, raw.samples)
        with pytest.raises(ValueError, match="denoise must be True or False"):
            RoundsConfig(denoise="yes")
        # where the chains start is a named choice, and the fit says which it used
        assert res.start in ("data", "resampled") and f"start={res.start!r}" in repr(res)
        for start in ("data", "resampled"):
            other = RoundsStudy(store, space.points, RoundsConfig(**SMALL, start=start)).fit()
            assert other.start == start and other.samples.shape == res.samples.shape
            assert np.isfinite(other.samples).all()
        assert not np.allclose(other.samples, RoundsStudy(
            store, space.points, RoundsConfig(**SMALL, start="data")).fit().samples)
        study.close()
    # the same study on a fresh store with the same seed: the same rounds
    with RatingsStore(tmp_path / "t.sqlite") as other:
        twin = RoundsStudy(other, space.points, RoundsConfig(**SMALL))
        twin.rate_with(SimulatedListener.from_data(space.points, seed=1))
        with RatingsStore(tmp_path / "s.sqlite") as store:
            for k in range(3):
                assert other.plan(twin.plan_name(k)).fingerprint() == store.plan(study.plan_name(k)).fingerprint()
        twin.close()


WRITER = r"""
import sys, time
import numpy as np
from hd_widgets.ratings.listeners import SimulatedListener
from hd_widgets.ratings.store import RatingsStore
from hd_widgets.speech.space import FeatureSpace
from hd_widgets.study.rounds import RoundsConfig, RoundsStudy
path, rater, shared, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
space = FeatureSpace.default(2)
lis = SimulatedListener.from_data(space.points, seed=1, name=rater)
store = RatingsStore(path)
study = RoundsStudy(store, space.points, RoundsConfig(budget=80, steps=200, particles=300), shared=shared)
print("ready", flush=True)
while not study.finished():
    if study.rate_with(lis, limit=1) == 0:
        time.sleep(0.05)                  # waiting for the class to finish the round
    time.sleep(pause)
print("done", flush=True)
"""


def _writer(path: Path, rater: str, shared: int = 0, pause: float = 0.0) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), rater, str(shared), str(pause)],
                            stdout=subprocess.PIPE, text=True)


def test_a_killed_rater_resumes_the_same_round_with_nothing_lost(tmp_path):
    path = tmp_path / "study.sqlite"
    child = _writer(path, "ann", pause=0.02)
    assert child.stdout.readline().strip() == "ready"
    deadline = time.time() + 60
    while time.time() < deadline:                                 # kill it inside round 1
        with RatingsStore(path) as store:
            names = store.plan_names()
            if "study-r1" in names and 0 < store.progress("study-r1")[0] < store.progress("study-r1")[1]:
                before = _submissions(store)
                break
        time.sleep(0.05)
    else:
        pytest.fail("the writer never reached round 1")
    child.send_signal(signal.SIGKILL)
    child.wait()
    with RatingsStore(path) as store:
        kept = _submissions(store)
        assert set(before) <= set(kept) and len(kept) == len(set(kept))
        assert "study-r2" not in store.plan_names()               # still in round 1
    again = _writer(path, "ann")
    assert again.stdout.readline().strip() == "ready"
    assert again.stdout.readline().strip() == "done"
    again.wait(timeout=120)
    with RatingsStore(path) as store:
        subs = _submissions(store)
        assert len(subs) == len(set(subs)) == sum(RoundsConfig(**SMALL).sizes()) // 2
        assert set(kept) <= set(subs)
        assert [n for n in store.plan_names()] == ["study-r0", "study-r1", "study-r2"]


def test_two_raters_in_two_processes_share_one_study_and_each_round_is_planned_once(tmp_path):
    path = tmp_path / "class.sqlite"
    with RatingsStore(path) as store:                             # the teacher creates it
        RoundsStudy(store, FeatureSpace.default(2).points,
                    RoundsConfig(budget=80, steps=200, particles=300), shared=2).close()
    kids = [_writer(path, name, shared=2) for name in ("ann", "bo")]
    for k in kids:
        assert k.stdout.readline().strip() == "ready"
    for k in kids:
        assert k.stdout.readline().strip() == "done"
        assert k.wait(timeout=180) == 0
    with RatingsStore(path) as store:
        assert store.plan_names() == ["study-r0", "study-r1", "study-r2"]
        for name in store.plan_names():
            done, total = store.progress(name)
            assert done == total                                  # the class covered every page
            subs = [(r.rater, r.query) for r in store.ratings(name) if r.clip == 0]
            assert len(subs) == len(set(subs))                    # nobody answered a page twice
        assert set(store.raters()) == {"ann", "bo"}


def test_the_rating_widget_follows_the_study_and_the_dashboard_shows_the_round(tmp_path, space):
    from hd_widgets.widgets.classroom import ClassroomDashboard
    from hd_widgets.widgets.study import StudyWidget
    with RatingsStore(tmp_path / "s.sqlite") as store:
        study = RoundsStudy(store, space.points, RoundsConfig(**SMALL), shared=2)
        ann = StudyWidget(space, study, "ann", poll_s=None, prepare_at=2)
        bo = StudyWidget(space, study, "bo", poll_s=None)
        dash = ClassroomDashboard(store, study, interval=None)
        assert "Round 1 of 3" in dash._summary.value and ann.round == 0
        lis = SimulatedListener.from_data(space.points, seed=1)
        ann.answer_with(lis, n=5)                                 # ann rates five pages ...
        assert study.round == 0 and "round 1 of 3" in ann._progress.value
        while study.round == 0:                                   # ... bo covers the rest
            assert bo.answer_with(lis, n=1) == 1
        assert bo.round == 1 and bo.query is not None
        assert study.complete(0) and not study.complete(0, "ann")   # pooled, not ann's own
        # ann still shows a page of round 1: her answer is kept, and she moves on
        n_before = len(store.ratings(study.plan_name(0), rater="ann"))
        ann.set_ratings(0.6, 0.4)
        assert ann.submit()
        assert len(store.ratings(study.plan_name(0), rater="ann")) == n_before + 2
        assert ann.round == 1 and ann.query is not None and not ann.waiting
        dash.refresh()
        assert "Round 2 of 3" in dash._summary.value
        assert "round 2 of 3" in bo._progress.value
        assert bo.cloud.shown_round == 1                          # the cloud after round 1
        # a widget opened later, in a kernel that planned nothing (a restart), shows it too
        later = StudyWidget(space, RoundsStudy(store, space.points, RoundsConfig(**SMALL), shared=2),
                            "cy", poll_s=None)
        assert later.cloud.shown_round == 1 and len(later.cloud.figure.data[0].x) > 0
        later.close()
        for w in (ann, bo):
            w.close()
        dash.close(); study.close()
