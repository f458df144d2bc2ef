"""Rate a study in rounds: the rating page that follows the study, and its cloud.

:class:`StudyWidget` is the :class:`~hd_widgets.widgets.rating.RatingWidget` of a
:class:`~hd_widgets.study.rounds.RoundsStudy`: it shows the pages of the round being
rated, and when the rater (or, in a class, everyone together) has answered them it moves
on to the next round -- in a class as soon as the pages of the round have all been
answered by someone, whoever answered them. So that nobody waits at the boundary, the next
round is planned in the background while the last ``prepare_at`` pages of the current one
are rated; the wait between the last page of a round and the first of the next is recorded
(``boundary_waits_ms``). A rater who finishes a round before the class has is told so and
moved on automatically (the widget checks every few seconds) once the round is complete.
With a per-rater order (``RoundsStudy(..., shared=...)``) every rater may answer every page
of a round, so nobody waits; the round closes when the class has covered it.

:class:`StudyCloud` draws where the model's samples went after each round, over the real
voices and the pages rated so far (by anyone, each at the centre of its pair; a page of
the round not yet rated is not drawn): a student watches the cloud spread and a phantom
region vanish once it is rated. The figure is sized to its square plot, its legend under
the x-axis title (:func:`~hd_widgets.views.style.fit_square_plot`).
"""
from __future__ import annotations

import threading
import time

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
from traitlets import Bool, Int

from ..ratings.plan import Query
from ..views.plane import Plane, extent_of
from ..views.rounds import page_centres
from ..views.style import PALETTE, fit_square_plot, title_px, titled
from .ownership import OwnSubmissions
from .rating import RatingWidget

__all__ = ["StudyWidget", "StudyCloud"]


class StudyCloud(W.VBox):
    """The model's cloud after the latest round, over the real voices and the pages rated.

    Parameters
    ----------
    study : RoundsStudy
    dims : (int, int)     the two components shown when d > 2.
    n_show : int          particles drawn at most (each round keeps 400 of its cloud).
    height : int          of the figure, in pixels, while its legend takes at most two
                          rows; its width is what its square plot and margins take
                          (:func:`~hd_widgets.views.style.fit_square_plot`).
    """

    shown_round = Int(-1, help="The round whose cloud is drawn (-1: none yet).")
    n_rated = Int(0, help="Pages of the study rated so far (by anyone), the marks drawn.")

    def __init__(self, study, *, dims: tuple[int, int] = (0, 1), n_show: int = 400,
                 height: int = 600) -> None:
        self.study, self.n_show = study, int(n_show)
        self.plane = Plane(study.data.shape[1], dims, None)
        pts = self.plane.xy(study.data)
        fig = go.Figure([
            go.Scatter(x=[], y=[], mode="markers", name="model's samples (cloud)",
                       marker=dict(color=PALETTE["humandiffusion"], size=4, opacity=0.35),
                       hovertemplate="a sample of the model<br>(%{x:.2f}, %{y:.2f})"
                                     "<extra></extra>"),
            go.Scatter(x=[], y=[], mode="markers", name="pages rated so far",
                       marker=dict(color=PALETTE["periphery"], size=6, symbol="x"),
                       hovertemplate="a page rated here (the centre of its pair)<br>"
                                     "(%{x:.2f}, %{y:.2f})<extra></extra>"),
            go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", name="real voices",
                       marker=dict(color=PALETTE["real"], size=8,
                                   line=dict(width=1, color="white")),
                       hovertemplate="a real voice<br>(%{x:.2f}, %{y:.2f})<extra></extra>"),
        ])
        # sized once, for the widest title update() writes (its notes then stay as laid out)
        rounds, budget = self.study.config.rounds, self.study.config.budget
        heading, notes = max(((self._heading(rounds), self._notes(budget, "drawn")),
                              (self._heading(rounds - 1), self._notes(budget, "to fit"))),
                             key=lambda t: title_px(titled(t[0], self.plane.note(), *t[1])))
        self._stacked = fit_square_plot(
            fig, extent_of(pts, pad=0.6), height=int(height), title=heading,
            notes=(self.plane.note(), *notes), axis_titles=self.plane.axis_titles())
        self.figure = go.FigureWidget(fig)
        super().__init__([self.figure])
        self.update()

    def rated(self, plans=None) -> np.ndarray:
        """Centres of the pages of every round rated so far, by anyone: shape (n, d)
        (``plans``: the study's plans, if already read)."""
        plans = self.study.plans() if plans is None else plans
        return np.concatenate([page_centres(self.study, plan) for plan in plans])

    def update(self, *_) -> None:
        """Redraw with the pages rated so far and the latest cloud the study has."""
        plans = self.study.plans()                  # read once for both
        clouds = self.study.clouds(plans)
        r = self.plane.xy(self.rated(plans))
        k = max(clouds) if clouds else None
        with self.figure.batch_update():
            self.figure.data[1].x, self.figure.data[1].y = r[:, 0], r[:, 1]
            if k is not None:
                x = self.plane.xy(clouds[k][: self.n_show])
                self.figure.data[0].x, self.figure.data[0].y = x[:, 0], x[:, 1]
                self.shown_round = int(k)
            state = ("none" if k is None else "to fit" if k < self.study.config.rounds
                     and self.study.finished() else "drawn")
            self.figure.layout.title.text = self.plane.title(
                self._heading(k), *self._notes(len(r), state), stacked=self._stacked)
        self.n_rated = len(r)

    def _heading(self, k: int | None) -> str:
        """The title's first line: which cloud is drawn (round ``k``'s; None: none yet)."""
        if k is None:
            return "The model's cloud"
        return "The model's cloud " + ("after the final fit" if k >= self.study.config.rounds
                                       else f"after round {k}")

    @staticmethod
    def _notes(n_rated: int, state: str) -> tuple[str, str]:
        """Under the title: what the cloud is (``state`` "drawn"), when it appears ("none":
        no round fitted yet), or that every round is rated and the final fit, which draws
        the last cloud, is still to run ("to fit"); and the pages rated."""
        what = {"drawn": "where its samples go", "none": "it appears after round 1",
                "to fit": "every round rated: the final fit comes next"}[state]
        return what, f"{n_rated} page{'s' if n_rated != 1 else ''} rated"

    def __repr__(self) -> str:
        return f"StudyCloud(study={self.study.name!r}, shown_round={self.shown_round})"


class StudyWidget(RatingWidget):
    """Rate a :class:`~hd_widgets.study.rounds.RoundsStudy`, round after round.

    Parameters
    ----------
    space : FeatureSpace
    study : RoundsStudy       its store is where the ratings go.
    rater : str
    prepare_at : int          plan the next round in the background once this many pages
                              of the current one (pooled over raters) are left.
    poll_s : float or None    while waiting for the class to finish a round, check this
                              often (None: only when :meth:`check` is called).
    session, seed             as :class:`~hd_widgets.widgets.rating.RatingWidget`.
    """

    round = Int(0, help="The round this widget shows pages of (0-based).")
    waiting = Bool(False, help="True while this rater has answered the round but the class "
                   "has not: the next round starts when every page of it is answered.")

    def __init__(self, space, study, rater: str, *, prepare_at: int = 3,
                 poll_s: float | None = 3.0, session: str | None = None, seed: int = 0):
        self.study, self.prepare_at, self.poll_s = study, int(prepare_at), poll_s
        self.boundary_waits_ms: list[float] = []
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        super().__init__(space, study.store, study.plans()[-1], rater, session=session, seed=seed)
        self.round = int(self.plan.config.get("round", 0))
        self.cloud = StudyCloud(study)
        self.on_submit(self.cloud.update)

    def check(self) -> bool:
        """Look again for the next round (the twin of the timer): resume this rater where the
        study now is; True if a page is shown."""
        if self.rater and (self.query is None or self.study.plans()[-1].name != self.plan.name):
            self._start(self.rater)
        return self.query is not None

    # ------------------------------------------------------------------ the rounds
    def _switch(self, plan) -> None:
        self.plan = plan
        self._by_index = {q.index: q for q in plan}
        self._mine = OwnSubmissions(self.store, plan.name)
        self._done, self._skipped = set(), set()
        self.round = int(plan.config.get("round", 0))
        if hasattr(self, "cloud"):
            self.cloud.update()

    def _next_page(self, rater: str | None = None) -> Query | None:
        rater = self.rater if rater is None else rater
        if not hasattr(self, "study"):
            return None
        latest = self.study.plans()[-1]
        if latest.name != self.plan.name:
            self._switch(latest)                  # the class finished this round together
        done, total = self.store.progress(self.plan.name)              # pooled over raters
        if done < total:
            q = self.store.next_query(self.plan.name, rater)
            if q is not None:
                if total - done <= self.prepare_at and self.round + 1 < self.study.config.rounds:
                    self.study.prepare(self.round + 1)
                self.waiting = False
                return q
            self.waiting = True                   # nothing left for this rater: the class's turn
            self._poll()
            return None
        t = time.perf_counter()
        new = self.study.advance()                # every page answered: the next round
        self.waiting = False
        if new is None:
            return None                           # the last round is answered: finished
        self.boundary_waits_ms.append(1e3 * (time.perf_counter() - t))
        self._switch(new)
        return self.store.next_query(new.name, rater)

    def _poll(self) -> None:
        if self.poll_s is None or (self._poller is not None and self._poller.is_alive()):
            return

        def loop() -> None:
            while not self._stop.wait(self.poll_s):
                if not self.waiting or self.check():
                    return
        self._poller = threading.Thread(target=loop, daemon=True, name="hd-study-poll")
        self._poller.start()

    def _progress_text(self, done: int, total: int) -> str:
        p = self.study.progress(self.rater or None)
        return (f"round {self.round + 1} of {self.study.config.rounds} · {done} of {total} pages "
                f"of this round · {p['ratings']} of {p['budget']} ratings in all · "
                f"{self._time_left(total - done)}")

    def _idle_reason(self) -> str:
        if self.rater and self.waiting:
            done, total = self.store.progress(self.plan.name)
            return (f"You have rated your pages of round {self.round + 1}; waiting for the class "
                    f"({total - done} of its {total} pages left). The next round starts by itself.")
        if self.rater and hasattr(self, "study") and self.study.finished():
            return self._study_done()
        return super()._idle_reason()

    def _finished_title(self, total: int) -> str:
        """The last round's pages are all rated: say so of the whole study, not of the round."""
        if hasattr(self, "study") and self.study.finished():
            return f"<b>Finished</b>{self._study_done().removeprefix('Finished')}"
        return super()._finished_title(total)

    def _study_done(self) -> str:
        """"Finished: every round of the study is rated (3 rounds, 40 pages, 80 ratings)."."""
        plans = self.study.plans()
        pages = sum(self.store.progress(p.name)[0] for p in plans)        # pooled over raters
        ratings = self.study.progress()["ratings"]
        mine = sum(self.store.progress(p.name, self.rater)[0] for p in plans) if self.rater else 0
        by_you = f"; {mine} of the pages by you" if self.rater and mine < pages else ""
        return (f"Finished: every round of the study is rated ({len(plans)} rounds, {pages} "
                f"pages, {ratings} ratings{by_you}). Thank you!")

    def close(self) -> None:
        self._stop.set()
        if hasattr(self, "cloud"):
            self.cloud.close()
        super().close()

    def __repr__(self) -> str:
        return (f"StudyWidget(study={self.study.name!r}, round={self.round + 1} of "
                f"{self.study.config.rounds}, rater={self.rater!r}, waiting={self.waiting}, "
                f"status={self.status!r})")
