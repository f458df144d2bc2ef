"""The MUSHRA-style listening page: an open reference and several clips, one slider each.

Built from ipywidgets' own controls, on the convention of
:class:`~hd_widgets.widgets.rating.RatingWidget`: state in traitlets (``rater``,
``status``, ``n_done``, ``n_pages``, ``finished``), and a programmatic twin for every
action (:meth:`EvaluationWidget.set_ratings`, :meth:`~EvaluationWidget.submit`,
:meth:`~EvaluationWidget.answer_with`) that drives the same handlers as a person's
clicks, so notebooks run headless under CI.

Untouched sliders, as on the rating page: every slider starts in the middle, grey and
without a number, and Submit refuses the page until each one has been moved, the hidden
reference included (a forgotten slider must not turn into a silent 0.5). To give exactly
0.50, move the slider away and back; :meth:`~EvaluationWidget.set_ratings` counts as moving.
"""
from __future__ import annotations

from functools import partial

import ipywidgets as W
import numpy as np
from traitlets import Bool, Int, Unicode

from ..ratings.plan import Query, QueryPlan
from ..ratings.store import RatingError, RatingsStore
from ..speech.space import FeatureSpace
from .card import UNRATED_HANDLE
from .checks import check_plan, rater_problem
from .identity import RaterIdentity
from .lifetime import close_tree

__all__ = ["EvaluationWidget"]

HELP = ("<small>Play the reference, then every clip. Rate how natural each clip sounds: "
        "0 = clearly unnatural, 1 = as natural as the reference. One of the clips <i>is</i> "
        "the reference. A clip counts as rated once you move its slider (to give 0.50, move "
        "it away and back); Submit saves the page when every clip is rated.</small>")


class EvaluationWidget(RaterIdentity, W.VBox):
    """One page per trial: hear the reference, then rate every clip from 0 to 1.

    Parameters
    ----------
    space : FeatureSpace
        Renders the reference and every clip.
    store : RatingsStore
    plan : str or QueryPlan
        An evaluation plan (see :func:`~hd_widgets.study.evaluation.mushra_plan`), by name
        in ``store`` or as a plan (checked, then added to the store; idempotent). Its
        ``config["reference"]`` is the reference voice, shape (d,).
    rater : str
        Who rates (spaces stripped; the store must accept the id).
    session : str, optional
        Label stored with each rating.

    Raises
    ------
    ValueError
        A plan this page cannot show (pages with different numbers of clips, fewer than
        two, no ``reference`` of the space's dimension, or points of another dimension than
        ``space.d``), checked before a given plan is stored; or a refused rater id.

    Examples
    --------
    >>> page = EvaluationWidget(space, store, plan.name, rater="ann")
    >>> page.set_ratings([0.9, 0.2, 0.8, 1.0, 0.1, 0.7]); page.submit()   # -> True
    >>> page.answer_with(listener)          # a (simulated) listener answers the rest
    """

    status = Unicode("", help="The message next to Submit (saved, refused, errors).")
    n_done = Int(0, help="Pages of the plan this rater has rated (active in the store).")
    n_pages = Int(0, help="Pages in the plan.")
    finished = Bool(False, help="True once the rater has rated every page of the plan.")

    def __init__(self, space: FeatureSpace, store: RatingsStore, plan: str | QueryPlan,
                 rater: str, *, session: str | None = None):
        given = plan if isinstance(plan, QueryPlan) else store.plan(plan)
        check_plan(given, space, k_min=2, k_max=None, widget="EvaluationWidget")
        ref = np.asarray(given.config.get("reference", []), dtype=np.float64)
        if ref.shape != (given.d,):
            raise ValueError(f"EvaluationWidget cannot show plan {given.name!r}: its config needs "
                             f"a 'reference' point of shape ({given.d},), got shape {ref.shape}")
        self.space, self.store, self.session = space, store, session
        self.plan = store.add_plan(given) if isinstance(plan, QueryPlan) else given
        why = rater_problem(store, self.plan.name, str(rater).strip())
        if why is not None:
            raise ValueError(f"rater id refused: {why}")
        self.plan_name = self.plan.name
        self.query: Query | None = None
        self._sliders: list[W.FloatSlider] = []
        self._touched: list[bool] = []
        self._loading = False
        self._last_ok = False
        self._submit_handlers = W.CallbackDispatcher()
        self._ref_audio = W.Audio(value=space.render_wav(ref), format="wav", autoplay=False,
                                  controls=True, loop=False)
        self._title = W.HTML()
        self._status = W.HTML()
        self._rows = W.VBox()
        self._submit = W.Button(description="Submit page", button_style="primary",
                                icon="check", tooltip="Save the ratings of this page")
        self._submit.on_click(self._on_submit)
        super().__init__([self._title, W.HTML(HELP),
                          W.HBox([W.Label("Reference"), self._ref_audio]),
                          self._rows, W.HBox([self._submit, self._status])])
        self.n_pages = len(self.plan)
        self.rater = rater            # validated above; resumes this rater's next page

    # ------------------------------------------------------------------ programmatic twins
    def set_ratings(self, values) -> None:
        """Move every slider, in on-screen order, as a person would; marks each one rated."""
        values = [float(v) for v in values]
        if len(values) != len(self._sliders):
            raise ValueError(f"this page has {len(self._sliders)} clips, got {len(values)} values")
        for i, (s, v) in enumerate(zip(self._sliders, values)):
            if not 0.0 <= v <= 1.0:  # also refuses NaN; a slider would silently clamp
                raise ValueError(f"rating for clip {i + 1} must be in [0, 1], got {v}")
        for i, (s, v) in enumerate(zip(self._sliders, values)):
            moved = s.value != v
            s.value = v
            if not moved:  # a person would move it away and back; the intent here is explicit
                self._touch(i)

    def submit(self) -> bool:
        """Click "Submit page"; True if the page was saved (else see :attr:`status`)."""
        self._last_ok = False
        self._submit.click()
        return self._last_ok

    def on_submit(self, callback, remove: bool = False) -> None:
        """Register ``callback(widget)`` to run after each page the store has saved
        (``remove=True`` unregisters it); as :meth:`RatingWidget.on_submit`."""
        self._submit_handlers.register_callback(callback, remove=remove)

    def answer_with(self, listener, n: int | None = None) -> int:
        """Let ``listener`` answer the next ``n`` (default: all remaining) pages.

        For each page ``listener.rate(points)`` (points shape (k, d), on-screen order) gives
        the values; they go onto the sliders and Submit is clicked, as a person would.
        Returns the pages saved (a page answered elsewhere meanwhile is passed, not counted).
        """
        count = 0
        while self.query is not None and (n is None or count < n):
            q = self.query
            self.set_ratings(np.asarray(listener.rate(q.points), dtype=float).reshape(q.k))
            if self.submit():
                count += 1
            elif self.query is q:
                raise RuntimeError(f"answer_with stopped: {self.status}")
        return count

    # ------------------------------------------------------------------ identity
    def _start(self, rater: str) -> None:
        """``rater`` was accepted (:class:`RaterIdentity`): resume their next page."""
        done = self.store.progress(self.plan_name, rater)[0]
        self._load(self.store.next_query(self.plan_name, rater),
                   f"Welcome{' back' if done else ''}, {rater}.")

    # ------------------------------------------------------------------ handlers
    def _on_slide(self, i: int, change: dict) -> None:
        if not self._loading:
            self._touch(i)

    def _on_submit(self, _=None) -> None:
        q = self.query
        if q is None:
            return self._say("Finished: nothing left to rate.", "error")
        missing = [f"clip {i + 1}" for i, t in enumerate(self._touched) if not t]
        if missing:
            return self._say(f"Not saved: rate {', '.join(missing)} first (move the slider; "
                             "to give 0.50 move it away and back).", "error")
        values = [s.value for s in self._sliders]
        try:
            self.store.rate(self.plan_name, q.index, values, rater=self.rater,
                            session=self.session)
        except RatingError as e:
            if any(r.query == q.index for r in self.store.ratings(self.plan_name,
                                                                   rater=self.rater)):
                return self._load(self.store.next_query(self.plan_name, self.rater),
                                  f"Not saved: page {q.index + 1} was already answered as "
                                  f"{self.rater} elsewhere (another tab, widget or kernel); "
                                  "here is the next page.", "error")
            return self._say(f"Not saved: {e}", "error")
        except Exception as e:  # e.g. a locked database: keep the page and its sliders
            return self._say(f"Not saved ({type(e).__name__}): {e}", "error")
        self._last_ok = True
        self._load(self.store.next_query(self.plan_name, self.rater), "Saved.")
        self._submit_handlers(self)

    # ------------------------------------------------------------------ state
    def _load(self, query: Query | None, message: str = "", kind: str = "ok") -> None:
        """Show ``query`` with fresh, unrated sliders (None: the test is finished)."""
        self.query = query
        self.n_done = self.store.progress(self.plan_name, self.rater)[0]
        self.finished = query is None and self.n_done >= self.n_pages
        for row in self._rows.children:
            row.close()
        self._sliders, self._touched = [], []
        if query is None:
            self._title.value = (f"<b>Listening test finished</b> — {self.n_done} of "
                                 f"{self.n_pages} pages rated. Thank you!")
            self._rows.children = ()
        else:
            self._title.value = f"<b>Page {self.n_done + 1} of {self.n_pages}</b>"
            rows = []
            for i, p in enumerate(query.points):
                s = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.01, readout=False,
                                  readout_format=".2f", description=f"Clip {i + 1}",
                                  continuous_update=False, style={"handle_color": UNRATED_HANDLE})
                s.observe(partial(self._on_slide, i), "value")
                self._sliders.append(s)
                self._touched.append(False)
                rows.append(W.HBox([W.Audio(value=self.space.render_wav(p), format="wav",
                                            autoplay=False, controls=True, loop=False), s]))
            self._rows.children = rows
        self._submit.disabled = True
        self._say(message, kind)

    def _touch(self, i: int) -> None:
        self._touched[i] = True
        self._sliders[i].readout = True
        self._sliders[i].style.handle_color = None
        self._submit.disabled = self.query is None or not all(self._touched)

    def _say(self, message: str, kind: str = "ok") -> None:
        self.status = message
        color = "#b00" if kind == "error" else "#070"
        self._status.value = f"<span style='color:{color}'>{message}</span>" if message else ""

    def close(self) -> None:
        """Close the page and every control in it."""
        if not hasattr(self, "_submit_handlers"):   # refused in __init__
            return super().close()
        self._submit_handlers.callbacks = []
        close_tree(self)
        super().close()

    def __repr__(self) -> str:
        page = "finished" if self.query is None else self.query.index
        return (f"EvaluationWidget(plan={self.plan_name!r}, rater={self.rater!r}, "
                f"pages {self.n_done} of {self.n_pages}, page={page}, status={self.status!r})")
