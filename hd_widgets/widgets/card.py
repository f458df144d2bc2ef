"""What a rater sees: the card of :class:`~hd_widgets.widgets.rating.RatingWidget`, no logic.

Built from ipywidgets' own controls: a rater-id ``Text``, a title, an ``IntProgress`` with
"k of K rated · time left", one ``Audio`` player and one ``FloatSlider`` per clip
("A", "B", ...), Submit / Skip / Undo ``Button``s, a status line and the help text.
The behaviour (store, order, keys, prefetch) lives in :mod:`hd_widgets.widgets.rating` and the
parts it names.

Players are ``ipywidgets.Audio`` with the clip's own WAV bytes (never
``IPython.display.Audio``, which normalises loudness). Key events come from ipyevents,
which captures *every* key while the pointer is over a watched element; so the watched
regions leave out the sliders and the rater box, whose own keys must keep working. Keys
typed on a focused slider must not reach JupyterLab either (in command mode "a" inserts a
cell, "1" turns the cell into a heading, "d d" deletes it): a tiny anywidget stops keydown
events (without Ctrl/Cmd) from bubbling out of the card, after the slider has had them.
"""
from __future__ import annotations

import anywidget
import ipyevents
import ipywidgets as W

from .lifetime import close_tree

__all__ = ["RatingCard", "HELP"]

HELP = """\
Listen to every clip, then rate how natural each one sounds: 0 = unnatural, 1 = natural.
A clip counts as rated once you move its slider (to give 0.50, move it away and back);
Submit saves the page only when every clip is rated. Skipped pages come back at the end.
Keys, while the pointer is over the card (not over a slider or the rater box, which keep
their own keys; move the pointer off the card to use Jupyter's own keys):
  1, 2, ...      play clip A, B, ... (and select it)
  a / z          raise / lower the selected clip's rating by 0.05 (also the arrow keys)
  Enter          submit        s   skip        u   undo the last submission
On a slider: click its handle, then the arrow keys move it by 0.01."""

UNRATED_HANDLE = "#bbbbbb"     # grey handle (and no number) until a slider is moved
SELECTED = "2px solid #1976d2"


class ShortcutGuard(anywidget.AnyWidget):
    """Invisible; keeps keys typed inside the enclosing card away from JupyterLab."""

    _esm = """
    export default { render({ el }) {
      const guard = () => {
        const card = el.closest(".hd-rating-card");
        if (card && !card.dataset.hdKeyGuard) {
          card.dataset.hdKeyGuard = "1";
          // bubble phase: the focused slider / text box has handled the key already
          card.addEventListener("keydown", (e) => {
            if (!e.ctrlKey && !e.metaKey) e.stopPropagation();
          });
        }
        return card !== null;
      };
      if (!guard()) {              // not attached to the page yet: look again shortly
        const timer = setInterval(() => guard() && clearInterval(timer), 50);
        setTimeout(() => clearInterval(timer), 30000);
      }
    } };
    """


class RatingCard(W.VBox):
    """The controls of one rating page for ``letters`` clips; a plan of ``n_queries``.

    Attributes hold the controls (``_players``, ``_sliders``, ``_buttons`` {"submit",
    "skip", "undo"}, ``_rater_box``, ``_status``, ...) and ``_keys``, the ipyevents
    ``Event`` widgets of the keyed regions (head, each player, foot).
    """

    def __init__(self, letters: list[str], n_queries: int):
        self._rater_box = W.Text(description="Rater id", placeholder="your name or code",
                                 continuous_update=False)
        self._title = W.HTML()
        self._bar = W.IntProgress(min=0, max=n_queries, layout=W.Layout(width="200px"))
        self._progress = W.HTML()
        self._players = [W.Audio(format="wav", autoplay=False, loop=False, controls=True,
                                 layout=W.Layout(width="250px")) for _ in letters]
        self._sliders = [W.FloatSlider(0.5, min=0.0, max=1.0, step=0.01, description=L,
                                       readout=False, readout_format=".2f",
                                       continuous_update=False, layout=W.Layout(width="250px"),
                                       style={"description_width": "1.5em"}) for L in letters]
        self._buttons = {
            "submit": W.Button(description="Submit", button_style="primary", icon="check",
                               tooltip="Save the ratings of this page (Enter)"),
            "skip": W.Button(description="Skip", icon="forward",
                             tooltip="Skip this page; it comes back at the end (s)"),
            "undo": W.Button(description="Undo", icon="undo",
                             tooltip="Take back your last submission (u)"),
        }
        self._status = W.HTML()
        help_ = W.HTML("<details><summary><small>Help and keys</small></summary>"
                       f"<pre style='font-size:11px;line-height:1.3'>{HELP}</pre></details>")
        head = W.VBox([self._title, W.HBox([self._bar, self._progress])])
        clips = [W.VBox([W.HTML(f"<b>{L}</b>"), p]) for L, p in zip(letters, self._players)]
        self._columns = [W.VBox([c, s], layout=W.Layout(padding="2px"))
                         for c, s in zip(clips, self._sliders)]
        foot = W.VBox([W.HBox(list(self._buttons.values())), self._status, help_])
        self._keys = [ipyevents.Event(source=box, watched_events=["keydown"],
                                      ignore_modifier_key_events=True)
                      for box in (head, *clips, foot)]
        guard = ShortcutGuard(layout=W.Layout(display="none"))
        super().__init__([self._rater_box, head, W.HBox(self._columns), foot, guard],
                         layout=W.Layout(width="fit-content", padding="6px",
                                         border="1px solid #ccc"))
        self.add_class("hd-rating-card")

    def _show_clips(self, wavs: list[bytes]) -> None:
        """Put one WAV per player (display order), none autoplaying; ``b""`` empties it."""
        for p, wav in zip(self._players, wavs):
            with p.hold_sync():   # one message: new clip, autoplay off
                p.value, p.autoplay = wav, False

    def _arm_play(self, j: int) -> None:
        """Start player ``j`` from the top in the browser.

        ipywidgets' Audio has no play message, but its view reloads the clip on every
        model change and honours ``autoplay``: two changes (False, then True) restart it.
        """
        p = self._players[j]
        p.autoplay = False
        p.autoplay = True

    def _mark(self, j: int, rated: bool) -> None:
        """Show slider ``j`` as rated (number, normal handle) or not yet (grey, no number)."""
        s = self._sliders[j]
        s.readout = rated
        s.style.handle_color = None if rated else UNRATED_HANDLE

    def _select(self, j: int) -> None:
        """Frame column ``j``, the clip the a/z keys act on."""
        for i, c in enumerate(self._columns):
            c.layout.border = SELECTED if i == j else "2px solid transparent"

    def _say(self, message: str, kind: str = "ok") -> None:
        """Set the status line (``kind`` "ok" or "error")."""
        color = "#b00020" if kind == "error" else "#1b5e20"
        self._status.value = f"<span style='color:{color}'>{message}</span>" if message else ""

    def close(self) -> None:
        """Close the card, every control in it and its key listeners."""
        for k in self._keys:
            k.close()
        close_tree(self)
        super().close()
