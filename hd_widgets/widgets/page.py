"""The rating page for raters without Jupyter: the packaged ``rate_page.ipynb`` served by
Voilà (``python -m hd_widgets rate-page --store URL --plan NAME``), code hidden.

A rater opens ``http://host:8866/?rater=alex`` on a laptop or a phone and gets the same
:class:`~hd_widgets.widgets.rating.RatingWidget` a notebook shows, writing into the class's
store. The page reads its settings from the environment the command sets for the Voilà
server (and so for every kernel it starts):

- ``HD_WIDGETS_STORE``: the store (a path or a database URL; its password stays out of
  the command line and out of every page);
- ``HD_WIDGETS_PLAN``: the plan's name in that store;
- ``HD_WIDGETS_SPACE`` (optional): a space saved with ``FeatureSpace.save``; by default
  the shipped corpus's space of the plan's dimension;
- ``QUERY_STRING``: set by Voilà from the page's address (``rater=alex``).

No rater in the address, or one the page refuses (empty, too long, control characters, or
refused by the store), gets a small form instead: type an id, press Start. A store or plan
that cannot be opened gets a one-line message, never a traceback.
"""
from __future__ import annotations

import os
from pathlib import Path
import unicodedata
from urllib.parse import parse_qs

import ipywidgets as W

from ..ratings.store import RatingError, RatingsStore, StoreUnreachable
from .checks import rater_problem

__all__ = ["PAGE_NOTEBOOK", "PLAN_ENV", "SPACE_ENV", "MAX_RATER", "rater_from_query",
           "page_problem", "RatingPage", "rating_page"]

PAGE_NOTEBOOK = Path(__file__).with_name("rate_page.ipynb")
PLAN_ENV, SPACE_ENV = "HD_WIDGETS_PLAN", "HD_WIDGETS_SPACE"
MAX_RATER = 64                    # characters of a rater id typed on a phone


def rater_from_query(query_string: str | None) -> str:
    """The ``rater`` of a page address's query string (``"rater=alex&x=1"``), or ""."""
    values = parse_qs(query_string or "", keep_blank_values=True).get("rater", [""])
    return values[0].strip()


def page_problem(rater: str) -> str | None:
    """Why the page refuses a rater id before asking the store (None: fine)."""
    if not rater:
        return "enter your rater id (the one your teacher gave you)"
    if len(rater) > MAX_RATER:
        return f"a rater id has at most {MAX_RATER} characters"
    if any(unicodedata.category(ch).startswith("C") for ch in rater):
        return "a rater id cannot hold control characters"
    return None


def _message(text: str, kind: str = "error") -> W.HTML:
    color = {"error": "#b00020", "ok": "#1b5e20"}[kind]
    from html import escape
    return W.HTML(f'<p style="color:{color}; font-size:1.05em">{escape(text)}</p>')


class RatingPage(W.VBox):
    """The page: a form for the rater id, then the rating widget.

    Parameters
    ----------
    store : str, PathLike or RatingsStore, optional
        Default: ``HD_WIDGETS_STORE``.
    plan : str, optional
        Default: ``HD_WIDGETS_PLAN``.
    query_string : str, optional
        Default: ``QUERY_STRING`` (what Voilà sets from the page's address).
    space : FeatureSpace, optional
        Default: ``HD_WIDGETS_SPACE`` if set, else the shipped corpus's space.

    Attributes
    ----------
    widget : RatingWidget or None
        The rating widget, once a rater id was accepted.
    problem : str or None
        Why the page cannot show the plan at all (store or plan), else None.
    """

    def __init__(self, store=None, plan: str | None = None, query_string: str | None = None,
                 space=None) -> None:
        self.widget, self.problem, self.store, self.space = None, None, None, space
        self._title = W.HTML("<h3>Listening test</h3>")
        self._box = W.Text(description="Rater id", placeholder="your rater id",
                           layout=W.Layout(width="22em"))
        self._go = W.Button(description="Start", button_style="primary")
        self._note = _message("", "ok")
        super().__init__([self._title])
        plan = plan or os.environ.get(PLAN_ENV, "").strip()
        try:
            self.store = store if isinstance(store, RatingsStore) else \
                RatingsStore.from_env(store) if store is not None else RatingsStore.from_env()
            if not plan:
                raise RatingError(f"no plan given (set {PLAN_ENV})")
            self.plan = self.store.plan(plan)
        except (RatingError, StoreUnreachable) as exc:
            self.problem = f"This rating page cannot open its ratings: {exc}"
            self.children = [self._title, _message(self.problem)]
            return
        self._title.value = (f"<h3>Listening test: {self.plan.name}</h3><p>Listen to each clip "
                             "and rate how natural it sounds; then Submit.</p>")
        self._go.on_click(lambda _: self.start(self._box.value))
        query = os.environ.get("QUERY_STRING", "") if query_string is None else query_string
        given = rater_from_query(query)
        if not (given and self.start(given)):
            self._show_form()

    def _show_form(self) -> None:
        self.children = [self._title, W.HBox([self._box, self._go]), self._note]

    def start(self, rater: str) -> bool:
        """What the form's Start button does: accept ``rater`` and show the rating widget
        (True), or say why not and keep the form (False)."""
        rater = unicodedata.normalize("NFC", str(rater).strip())
        self._box.value = rater
        why = page_problem(rater)
        if why is None:
            try:
                why = rater_problem(self.store, self.plan.name, rater)
            except StoreUnreachable as exc:
                why = f"the server is unreachable ({exc}); try again in a moment"
        if why is not None:
            self._note.value = _message(f"Rater id not accepted: {why}.").value
            self._show_form()
            return False
        from .rating import RatingWidget
        self.widget = RatingWidget(self._space(), self.store, self.plan.name, rater)
        self.children = [self._title, self.widget]
        return True

    def _space(self):
        if self.space is None:
            from ..speech.space import FeatureSpace
            saved = os.environ.get(SPACE_ENV, "").strip()
            self.space = FeatureSpace.load(saved) if saved else FeatureSpace.default(self.plan.d)
        return self.space


def rating_page() -> RatingPage:
    """The packaged notebook's one cell: the page for this request (with Voilà's
    ``--preheat_kernel``, wait for the request first, so ``QUERY_STRING`` is there)."""
    if os.environ.get("VOILA_PREHEAT", "False") != "False":
        from voila.utils import wait_for_request
        wait_for_request()
    return RatingPage()
