"""Whose submission is it: what one rating widget may take back with its Undo button.

The store's :meth:`~hd_widgets.ratings.store.RatingsStore.undo` withdraws a rater's last
active submission, wherever it was made. Two tabs (or two widgets in one kernel) rating
as the same person would then undo each other's pages. So every widget keeps the rating
ids the store gave its own submissions, per rater, and undoes only when the rater's last
active submission is one of them. It also tells a page "answered elsewhere meanwhile"
(:meth:`OwnSubmissions.answered`) from other refusals of the store.
"""
from __future__ import annotations

from ..ratings.store import Rating, RatingsStore

__all__ = ["OwnSubmissions", "NotOurs"]


class NotOurs(Exception):
    """Undo refused: nothing of this widget's to take back; the message says why."""


class OwnSubmissions:
    """The submissions one widget made in ``plan``, per rater, oldest first.

    Parameters
    ----------
    store : RatingsStore
    plan : str
        The plan's name.
    """

    def __init__(self, store: RatingsStore, plan: str):
        self.store, self.plan = store, plan
        self._ids: dict[str, list[list[int]]] = {}    # rater -> rating ids of each submission

    def add(self, rater: str, ids: list[int]) -> None:
        """Remember a submission: the rating ids :meth:`RatingsStore.rate` returned."""
        self._ids.setdefault(rater, []).append([int(i) for i in ids])

    def count(self, rater: str) -> int:
        """This widget's submissions of ``rater`` (including ones undone elsewhere since)."""
        return len(self._ids.get(rater, []))

    def answered(self, rater: str, query: int) -> bool:
        """Has ``rater`` an active answer to ``query`` (from anywhere)? False if unreadable.

        Asked after the store refused a submission, to tell "answered elsewhere meanwhile"
        from other refusals."""
        try:
            return any(r.query == query for r in self.store.ratings(self.plan, rater=rater))
        except Exception:
            return False

    def undo(self, rater: str) -> tuple[list[Rating], bool]:
        """Withdraw ``rater``'s last active submission if this widget made it.

        Returns
        -------
        (list of Rating, bool)
            The ratings withdrawn, and False in the rare race where another tab submitted
            between the check and the undo (then that submission was withdrawn instead).

        Raises
        ------
        NotOurs
            Nothing active, or the rater's last active submission was made elsewhere.
        """
        active = self.store.ratings(self.plan, rater=rater)
        live = {r.id for r in active}
        mine = self._ids.setdefault(rater, [])
        mine[:] = [sub for sub in mine if sub[0] in live]        # drop ones undone elsewhere
        if not active:
            raise NotOurs("Nothing to undo.")
        last = active[-1]
        if not mine:
            raise NotOurs(f"Nothing to undo here: this widget has no submission of {rater} "
                          f"left in plan {self.plan!r}; the last one (query #{last.query + 1}) "
                          "was made elsewhere (another tab, widget or an earlier kernel).")
        if last.id not in mine[-1]:
            raise NotOurs(f"Nothing undone: {rater}'s last submission (query #{last.query + 1}) "
                          "was made elsewhere (another tab, widget or kernel), after this "
                          "widget's; undo it there.")
        undone = self.store.undo(rater=rater, plan=self.plan)
        ours = bool(undone) and undone[0].id == mine[-1][0]
        if ours:
            mine.pop()
        return undone, ours
