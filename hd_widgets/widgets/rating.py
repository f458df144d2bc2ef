"""The rating widget: hear the clips of a query, rate each on its own slider, submit.

One query of a plan (for NES: the pair x~ + Delta, x~ - Delta) is one page, its clips
shown as "A", "B", ... in the rater's :func:`~hd_widgets.widgets.order.display_order`.
Every submission goes straight to the :class:`~hd_widgets.ratings.store.RatingsStore` and the
status line says "saved" only after the store has committed it; the widget never holds
ratings the store does not have, so a restarted kernel resumes where the person stopped.

Untouched sliders (a choice, documented in :data:`HELP`): sliders start in the middle,
without a number and with a grey handle; a clip counts as rated only once its slider has
been moved. Submit refuses a page with an unrated clip, because a careful listening test
must not turn "never listened / forgot" into a silent 0.5. To give exactly 0.50, move the
slider away and back.

Identity (who rates, whose submission): the rater id is a trait, stripped, checked and
resumed however it changes (:class:`~hd_widgets.widgets.identity.RaterIdentity`). Undo
takes back only this widget's own last submission in this plan (it tracks the ids the
store gave it, :class:`~hd_widgets.widgets.ownership.OwnSubmissions`); if the rater's last
active submission came from elsewhere (another tab, widget or kernel) it says so instead.
A page answered elsewhere is noticed on Submit: the widget says so and moves on.

This module holds what a person does (the buttons, keys and their programmatic twins);
the parts of the page live beside it: the card itself (controls, layout, key regions),
:class:`~hd_widgets.widgets.card.RatingCard`; which page is shown and showing it,
:class:`~hd_widgets.widgets.paging.PlanPaging`; the progress line and a lesson's goal
(``target``), :class:`~hd_widgets.widgets.progress.RatingProgress`; a rating kept through
a server outage, :class:`~hd_widgets.widgets.outbox.OutageResend`; rendering ahead,
:class:`~hd_widgets.widgets.prefetch.ClipPrefetcher`.
"""
from __future__ import annotations

from functools import partial
import time
import uuid

import ipywidgets as W
import numpy as np
from traitlets import TraitError, Unicode

from ..ratings.plan import Query, QueryPlan
from .card import HELP, RatingCard
from .checks import check_plan
from .identity import RaterIdentity
from .order import display_order
from .outbox import OutageResend, Outbox
from .ownership import NotOurs, OwnSubmissions
from .paging import PlanPaging
from .prefetch import ClipPrefetcher
from .progress import RatingProgress
from ..speech.space import FeatureSpace
from ..ratings.store import RatingError, RatingsStore, StoreUnreachable

__all__ = ["RatingWidget", "display_order", "HELP"]

NUDGE = 0.05          # slider change per a/z/arrow key press
MAX_CLIPS = 9         # keys 1..9 play the clips; more belong on an EvaluationWidget page


class RatingWidget(RaterIdentity, PlanPaging, RatingProgress, OutageResend, RatingCard):
    """Rate the queries of a plan, one page at a time, straight into a ratings store.

    Parameters
    ----------
    space : FeatureSpace
        Renders each clip (``render_wav``), at the space's fixed loudness.
    store : RatingsStore
        Where every submission goes (durable before "saved" is shown).
    plan : str or QueryPlan
        A plan name in ``store``, or a plan (added to the store; idempotent).
    rater : str
        Who rates; editable in the widget's "Rater id" box. "" (or an id the store
        refuses) waits for one.
    session : str, optional
        Label stored with each rating; by default a new id per widget.
    seed : int
        Seeds the clip order of every (rater, query); see :func:`display_order`.
    target : int
        Pages this lesson asks of the rater (0: the whole plan); see :attr:`target`.

    Raises
    ------
    ValueError
        If the plan cannot be shown here (queries with different numbers of clips, fewer
        than 2 or more than 9 clips, or points of another dimension than ``space.d``);
        checked before a given plan is added to the store.

    Examples
    --------
    >>> w = RatingWidget(FeatureSpace.default(2), RatingsStore("ratings.sqlite"), plan, "ann",
    ...                  target=6)   # "0 of 6 pages for this lesson"
    >>> w                        # displays the card in a notebook  # doctest: +SKIP
    >>> w.set_ratings(0.8, 0.3); w.submit()  # what a person's slider moves and click do
    >>> w.answer_with(listener, n=5)         # a (simulated) listener answers five pages
    >>> w.on_submit(lambda w: print(w.status))  # runs after every saved submission
    >>> w.rater = "bo"           # checked like the box; resumes bo's next page
    """

    status = Unicode("", help="The message on the status line (saved, refused, errors).")
    # rater: RaterIdentity's trait; finished, target, target_reached: RatingProgress's

    def __init__(self, space: FeatureSpace, store: RatingsStore, plan: str | QueryPlan,
                 rater: str, *, session: str | None = None, seed: int = 0, target: int = 0):
        self.space, self.store, self.seed = space, store, int(seed)
        given = plan if isinstance(plan, QueryPlan) else store.plan(plan)
        self.k = check_plan(given, space, k_min=2, k_max=MAX_CLIPS, widget="RatingWidget")
        self.plan = store.add_plan(given) if isinstance(plan, QueryPlan) else given
        self._by_index = {q.index: q for q in self.plan}
        self.letters = [chr(ord("A") + j) for j in range(self.k)]
        self.session = session or f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.query: Query | None = None
        self._order = np.arange(self.k)
        self._touched = [False] * self.k
        self._selected = 0
        self._loading = False
        self._last_ok = False
        self._shown_at = time.monotonic()
        self._durations: list[float] = []
        self._done: set[int] = set()
        self._skipped: set[int] = set()
        self._mine = OwnSubmissions(store, self.plan.name)   # what this widget's Undo may undo
        self._outbox = Outbox(store, self.session)   # a rating kept through an outage
        self._submit_handlers = W.CallbackDispatcher()
        self._prefetch = ClipPrefetcher(space.render_wav)
        super().__init__(self.letters, len(self.plan))
        self._rater_box.observe(self._on_rater, "value")
        for j, s in enumerate(self._sliders):
            s.observe(partial(self._on_slide, j), "value")
        for name, b in self._buttons.items():
            b.on_click(getattr(self, f"_on_{name}"))
        for e in self._keys:
            e.on_dom_event(self._on_key)
        self.target = target
        self._start("")
        if str(rater).strip():
            try:
                self.rater = rater
            except TraitError:
                pass          # the status line says why; the box waits for a valid id

    # ------------------------------------------------------------------ programmatic twins
    def set_ratings(self, *values: float) -> None:
        """Move the sliders, in display order (A, B, ...), as a person would; marks them rated."""
        if len(values) != self.k:
            raise ValueError(f"need {self.k} values (clips {self.letters}), got {len(values)}")
        for j, v in enumerate(values):
            v = float(v)
            if not 0.0 <= v <= 1.0:  # also refuses NaN; a slider would silently clamp
                raise ValueError(f"rating for {self.letters[j]} must be in [0, 1], got {v}")
            moved = self._sliders[j].value != v
            self._sliders[j].value = v
            if not moved:  # a person would move it away and back; the intent here is explicit
                self._touch(j)

    def submit(self) -> bool:
        """Click Submit; True if the ratings were saved (else see :attr:`status`)."""
        return self._click("submit")

    def on_submit(self, callback, remove: bool = False) -> None:
        """Register ``callback(widget)`` to run after each submission the store has saved.

        Called with this widget as its only argument (as ``Button.on_click`` passes the
        button), after the next page is shown, so ``widget.status`` already says "Saved
        query #..." and ``widget.query`` is the next page. Refused submissions, skips and
        undos do not call it. ``remove=True`` unregisters ``callback``. An exception in a
        callback is shown (or logged) and does not undo the saved submission.

        Examples
        --------
        >>> live = LiveGradient(space, store, plan.name, "ann")
        >>> widget.on_submit(live.update)       # redraw the arrows after every submission
        """
        self._submit_handlers.register_callback(callback, remove=remove)

    def skip(self) -> bool:
        """Click Skip; True if the skip was recorded."""
        return self._click("skip")

    def undo(self) -> bool:
        """Click Undo; True if a submission was taken back (its page is shown again)."""
        return self._click("undo")

    def play(self, which: int | str) -> None:
        """Play clip ``which`` ("A", "B", ... or 0, 1, ...) and select it for the a/z keys."""
        j = self.letters.index(which) if isinstance(which, str) else int(which)
        self._select(j)
        self._arm_play(j)

    def press(self, key: str) -> None:
        """Press a key on the card (same handler as the browser's key events)."""
        self._on_key({"type": "keydown", "key": key})

    def answer_with(self, listener, n: int | None = None) -> int:
        """Let ``listener`` answer the next ``n`` (default: all remaining) pages.

        For each page the listener rates the clips in display order
        (``listener.rate(points) -> values``, points shape (k, d)); the values go onto the
        sliders and Submit is clicked, exactly as a person would. Returns pages answered.
        """
        count = 0
        while self.query is not None and (n is None or count < n):
            q = self.query
            points = q.points[self._order]                               # (k, d)
            self.set_ratings(*np.asarray(listener.rate(points), dtype=float).reshape(self.k))
            if self.submit():
                count += 1
            elif self.query is q:  # still on the page: a real refusal
                raise RuntimeError(f"answer_with stopped: {self.status}")
            # else the page was answered elsewhere and the widget moved on: not counted
        return count

    def _click(self, name: str) -> bool:
        self._last_ok = False
        self._buttons[name].click()
        return self._last_ok

    # ------------------------------------------------------------------ handlers
    def _on_key(self, event: dict) -> None:
        if any(event.get(m) for m in ("ctrlKey", "metaKey", "altKey")):
            return
        key, repeat = event.get("key", ""), event.get("repeat", False)
        if self.query is None and key not in ("u", "Enter", "s"):
            return  # nothing to play or rate
        if key in ("a", "ArrowUp", "ArrowRight", "z", "ArrowDown", "ArrowLeft"):
            s = self._sliders[self._selected]
            up = key in ("a", "ArrowUp", "ArrowRight")
            new = round(min(1.0, max(0.0, s.value + (NUDGE if up else -NUDGE))), 6)
            self._touch(self._selected)
            s.value = new
        elif repeat:
            return  # a held key must not submit, skip or undo twice
        elif key.isdigit() and 1 <= int(key) <= self.k:
            self.play(int(key) - 1)
        elif key in ("Enter", "s", "u"):
            self._click({"Enter": "submit", "s": "skip", "u": "undo"}[key])

    def _on_slide(self, j: int, change: dict) -> None:
        if not self._loading:
            self._touch(j)
            self._select(j)

    def _on_submit(self, _=None) -> None:
        q = self.query
        if q is None:
            return self._say(self._idle_reason(), "error")
        missing = [self.letters[j] for j in range(self.k) if not self._touched[j]]
        if missing and self.status.startswith("Saved") and time.monotonic() - self._shown_at < 1:
            return self._say(f"{self.status} (A second click was ignored.)", "ok")  # double-click
        if missing:
            return self._say(f"Not saved: rate {' and '.join(missing)} first (move the slider; "
                             "to give 0.50 move it away and back).", "error")
        values = np.empty(self.k)
        values[self._order] = [s.value for s in self._sliders]          # back to query order
        try:
            ids = self._outbox.send(self.plan.name, self.rater, q.index, values.tolist())
        except StoreUnreachable as e:
            return self._keep_for_retry(e)
        except RatingError as e:
            if self._mine.answered(self.rater, q.index):
                return self._move_on(q, "Not saved")
            return self._say(f"Not saved: {e}", "error")
        except Exception as e:  # e.g. sqlite3.OperationalError (locked): keep the page
            return self._say(f"Not saved ({type(e).__name__}): {e}", "error")
        self._mine.add(self.rater, ids)
        self._durations.append(time.monotonic() - self._shown_at)
        self._done.add(q.index)
        self._last_ok = True
        shown = ", ".join(f"{L} {s.value:.2f}" for L, s in zip(self.letters, self._sliders))
        message = f"Saved query #{q.index + 1} ({shown})."
        if self.target and self.store.progress(self.plan.name, self.rater)[0] == self.target:
            message += (f" That is the {self.target} pages this lesson asks for: you can stop "
                        "here and run the next cell.")
        self._load(self._next_page(), message)
        self._submit_handlers(self)

    def _on_skip(self, _=None) -> None:
        q = self.query
        if q is None:
            return self._say(self._idle_reason(), "error")
        try:
            self.store.skip(self.plan.name, q.index, rater=self.rater, session=self.session)
        except Exception as e:  # RatingError or a database error: nothing changed
            if isinstance(e, RatingError) and self._mine.answered(self.rater, q.index):
                return self._move_on(q, "Not skipped")
            return self._say(f"Not skipped: {e}", "error")
        self._skipped.add(q.index)
        self._last_ok = True
        self._load(self._next_page(),
                   f"Skipped query #{q.index + 1}; it comes back after the others.")

    def _on_undo(self, _=None) -> None:
        """Withdraw this widget's own last submission, if it is the rater's last active one."""
        if not self.rater:
            return self._say(self._idle_reason(), "error")
        try:
            undone, ours = self._mine.undo(self.rater)
        except NotOurs as e:
            return self._say(str(e), "error")
        except Exception as e:
            return self._say(f"Nothing undone: {e}.", "error")
        qi = undone[0].query
        note = "" if ours else " (It had just been submitted elsewhere; yours is still saved.)"
        self._done.discard(qi)
        self._last_ok = True
        self._load(self._by_index[qi], f"Undone: query #{qi + 1} is back with your ratings; "
                   f"change them and submit again.{note}", {r.clip: r.value for r in undone})

    def _touch(self, j: int) -> None:
        self._touched[j] = True
        self._mark(j, True)
        self._buttons["submit"].disabled = self.query is None or not all(self._touched)

    def _select(self, j: int) -> None:
        self._selected = j
        super()._select(j)

    def _say(self, message: str, kind: str = "ok") -> None:
        self.status = message
        super()._say(message, kind)

    def close(self) -> None:
        """Stop the prefetch thread and close every control of the card."""
        if not hasattr(self, "_keys"):      # refused in __init__ (e.g. a plan it cannot show)
            return W.VBox.close(self)
        self._submit_handlers.callbacks = []
        self._prefetch.close()
        super().close()

    def __repr__(self) -> str:
        q = "finished" if self.finished else (None if self.query is None else self.query.index)
        done = self.store.progress(self.plan.name, self.rater)[0] if self.rater else 0
        goal = f", target={self.target}" if self.target else ""
        return (f"RatingWidget(plan={self.plan.name!r}, rater={self.rater!r}, "
                f"session={self.session!r}, rated={done}/{len(self.plan)}{goal}, query={q}, "
                f"status={self.status!r})")
