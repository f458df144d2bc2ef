"""The MUSHRA-style listening page: an open reference and several clips, one slider each.

Built from ipywidgets' own controls. Every action has a programmatic twin
(:meth:`EvaluationWidget.set_ratings`, :meth:`submit`, :meth:`answer_with`) that drives
the same code path as a person's clicks, so notebooks run headless under CI.
"""
from __future__ import annotations

import ipywidgets as W
import numpy as np

from .plan import Query
from .space import FeatureSpace
from .store import RatingError, RatingsStore

__all__ = ["EvaluationWidget"]


class EvaluationWidget(W.VBox):
    """One page per trial: hear the reference, then rate every clip from 0 to 1.

    Parameters
    ----------
    space : FeatureSpace
    store : RatingsStore
    plan : str
        Name of an evaluation plan already in the store (see :func:`evaluation.mushra_plan`).
    rater : str
    session : str, optional
    """

    def __init__(self, space: FeatureSpace, store: RatingsStore, plan: str, rater: str, *,
                 session: str | None = None):
        self.space, self.store, self.plan_name = space, store, plan
        self.rater, self.session = rater, session
        self.plan = store.plan(plan)
        ref = np.asarray(self.plan.config["reference"], dtype=np.float64)
        self._ref_audio = W.Audio(value=space.render_wav(ref), format="wav", autoplay=False,
                                  controls=True, loop=False)
        self._title = W.HTML()
        self._status = W.HTML()
        self._rows = W.VBox()
        self._sliders: list[W.FloatSlider] = []
        self._submit = W.Button(description="Submit page", button_style="primary",
                                icon="check")
        self._submit.on_click(lambda _: self._on_submit())
        help_ = W.HTML("<small>Play the reference, then every clip. Rate how natural each "
                       "clip sounds: 0 = clearly unnatural, 1 = as natural as the reference. "
                       "One of the clips <i>is</i> the reference.</small>")
        super().__init__([self._title, help_, W.HBox([W.Label("Reference"), self._ref_audio]),
                          self._rows, W.HBox([self._submit, self._status])])
        self.query: Query | None = None
        self._load(store.next_query(plan, rater))

    # ------------------------------------------------------------------ state
    def _load(self, query: Query | None) -> None:
        self.query = query
        done, total = self.store.progress(self.plan_name, self.rater)
        if query is None:
            self._title.value = f"<b>Listening test finished</b> — {done} of {total} pages rated. Thank you!"
            self._rows.children = ()
            self._submit.disabled = True
            return
        self._title.value = f"<b>Page {done + 1} of {total}</b>"
        self._sliders = []
        rows = []
        for i, p in enumerate(query.points):
            s = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.01, readout_format=".2f",
                              description=f"Clip {i + 1}", continuous_update=False)
            self._sliders.append(s)
            rows.append(W.HBox([W.Audio(value=self.space.render_wav(p), format="wav",
                                        autoplay=False, controls=True, loop=False), s]))
        self._rows.children = rows
        self._submit.disabled = False

    # ------------------------------------------------------------------ actions
    def set_ratings(self, values) -> None:
        """Move every slider (the twin of a person dragging them), in on-screen order."""
        values = list(values)
        if len(values) != len(self._sliders):
            raise ValueError(f"this page has {len(self._sliders)} clips, got {len(values)} values")
        for s, v in zip(self._sliders, values):
            s.value = float(v)

    def submit(self) -> None:
        """Click "Submit page"."""
        self._submit.click()

    def _on_submit(self) -> None:
        if self.query is None:
            return
        values = [s.value for s in self._sliders]
        try:
            self.store.rate(self.plan_name, self.query.index, values, rater=self.rater,
                            session=self.session)
        except RatingError as err:
            self._status.value = f"<span style='color:#b00'>Not saved: {err}</span>"
            return
        self._status.value = "<span style='color:#070'>saved</span>"
        self._load(self.store.next_query(self.plan_name, self.rater))

    def answer_with(self, listener, n: int | None = None) -> int:
        """Let a listener answer the remaining (or ``n``) pages through the sliders."""
        count = 0
        while self.query is not None and (n is None or count < n):
            self.set_ratings(listener.rate(self.query.points))
            self.submit()
            count += 1
        return count

    def __repr__(self) -> str:
        done, total = self.store.progress(self.plan_name, self.rater)
        return (f"EvaluationWidget(plan={self.plan_name!r}, rater={self.rater!r}, "
                f"pages {done} of {total})")
