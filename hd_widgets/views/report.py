"""The reproduction report: the paper's figures and a table of numbers in one HTML file.

:func:`hd_widgets.study.reproduction.reproduce` computes and
:mod:`hd_widgets.study.claims` judges; this module only shows. It turns a
:class:`~hd_widgets.study.reproduction.Reproduction` into

- :func:`figures`: paper Figs. 4, 5 and 6 as Plotly figures (via :mod:`hd_widgets.views`);
- :func:`markdown_table`: the table of numbers, ready to paste into a README;
- :func:`write_html` / :func:`write_report`: one self-contained ``report.html`` (plotly.js
  embedded once, so it opens offline) with the claims checked, the table, the figures, the
  time per stage and the full configuration.

Light enough to open at once (goal: under 2 MB, open in under 2 s, ``bench/notebooks.py``
measures both): the plotly.js embedded is its cartesian bundle (1.5 MB, every figure here
is cartesian; ``hd_widgets/data/plotly/``) rather than the full 4.8 MB one; Fig. 4 draws
arrows at no more than :data:`~hd_widgets.views.fields.MAX_ARROWS` rated points, Fig. 5
thins its clouds, and every coordinate is rounded to 3 decimals and stored as float32
(:func:`lighten`), which Plotly writes as base64 typed arrays.
"""
from __future__ import annotations

from dataclasses import asdict, fields as dataclass_fields
import html
import json
from pathlib import Path

import numpy as np

from ..ratings import kinds
from ..study.claims import RAN_AWAY_LABELS, check_claims, ran_away_note
from ..study.config import ReproduceConfig

__all__ = ["ROWS", "COLUMNS", "figures", "markdown_table", "write_html", "write_report",
           "lighten", "plotlyjs", "full_command", "CLI_OPTIONS"]

CARTESIAN_JS = Path(__file__).resolve().parents[1] / "data" / "plotly" / "plotly-cartesian.min.js"
CARTESIAN_VERSION = "4.1.1"          # the vendored bundle's version (its header says it too)
CLI_OPTIONS = ("budget", "seed", "listener", "d", "rounds", "corpus", "alpha", "steps")

# table rows, in order: key in results["table"]["rows"] -> label
ROWS = {
    "real": "real data (the corpus voices)",
    "pH": "exact samples of p_H (simulated truth)",
    "humandiffusion": "HumanDiffusion (Langevin on the learned score)",
    "floor": "floor: Langevin on the true score",
    "humangan_early": "HumanGAN, early-stopped (paper heuristic)",
    "humangan_collapsed": "HumanGAN, trained on (collapsed)",
    "reference": "hidden reference (evaluation)",
    "anchor": "low anchor (evaluation)",
}
# table columns: key in a row -> (header, format)
COLUMNS = {
    "variance": ("total variance", "{:.3f}"),
    "variance_ratio": ("variance ratio to real", "{:.2f}"),
    "energy_to_pH": ("energy distance to p_H", "{:.4f}"),
    "evaluation_mean": ("mean rating (MUSHRA)", "{:.3f}"),
    "evaluation_n": ("ratings", "{:d}"),
}
def plotlyjs() -> tuple[str, str]:
    """The plotly.js to embed and what it is: the vendored cartesian bundle when it matches
    the plotly.js version the installed plotly.py writes figures for, else plotly.py's own
    full bundle."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version
    if get_plotlyjs_version() == CARTESIAN_VERSION and CARTESIAN_JS.exists():
        return (CARTESIAN_JS.read_text(encoding="utf-8"),
                f"plotly.js {CARTESIAN_VERSION} (cartesian bundle)")
    return get_plotlyjs(), f"plotly.js {get_plotlyjs_version()} (full bundle)"


def lighten(fig, decimals: int = 3):
    """Round every numeric x, y and z array of ``fig`` to ``decimals`` places and store it as
    float32 (Plotly writes those as base64 typed arrays, about 5.3 bytes a number instead
    of ~18); category and text arrays are left alone. Returns ``fig``."""
    for tr in fig.data:
        for key in ("x", "y", "z"):
            value = getattr(tr, key, None) if key in tr else None
            if value is None or isinstance(value, (str, bytes)):
                continue
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                continue                      # categories (e.g. Fig. 6's kinds)
            if arr.size > 8:
                tr[key] = np.round(arr, decimals).astype(np.float32)
    return fig


def full_command(result: dict) -> str:
    """The run's command with every command-line option spelled out, defaults included."""
    cfg, out = result["config"], result["command"].rsplit("--out ", 1)[-1]
    args = [f"--{k} {cfg[k]}" for k in CLI_OPTIONS if cfg.get(k) is not None]
    return " ".join(["python -m hd_widgets reproduce", *args, f"--out {out}"])


def _command_html(result: dict) -> str:
    """The command as run (options that differ from the defaults) and in full."""
    defaults, cfg = asdict(ReproduceConfig()), result["config"]
    changed = [k for k in CLI_OPTIONS if cfg.get(k) != defaults[k]]
    esc = html.escape
    which = (f"options that differ from the defaults: {', '.join('--' + k for k in changed)}"
             if changed else "every option at its default")
    other = [f.name for f in dataclass_fields(ReproduceConfig)
             if f.name not in CLI_OPTIONS and f.name in cfg and cfg[f.name] != defaults[f.name]]
    more = (f"; settings changed in code: {', '.join(f'{k} = {cfg[k]}' for k in other)}"
            if other else "")
    return (f"<p>Command: <code>{esc(result['command'])}</code> ({esc(which)}{esc(more)})<br>"
            f"In full: <code>{esc(full_command(result))}</code></p>")


def figures(space, est, net, samples: dict[str, np.ndarray], gan_start: np.ndarray,
            ratings: dict[str, np.ndarray], D=None, n_show: int | None = None, *,
            source: str | None = None, eval_source: str | None = None) -> list[tuple[str, object]]:
    """Paper Figs. 4-6 as ``(caption, plotly Figure)`` pairs.

    Parameters
    ----------
    space : FeatureSpace             its ``points`` (N, d) are the real data.
    est, net : Estimate, ScoreNet    targets and the trained network (Fig. 4).
    samples : dict kind -> (n, d)    needs ``humandiffusion`` and ``humangan_early``.
    gan_start : (m, d)               the generator after its warm start on the data.
    ratings : dict kind -> (n_k,)    evaluation ratings (Fig. 6).
    D : callable (n, d) -> (n,), optional   the true naturalness, if known.
    n_show : int, optional           samples drawn per cloud in Fig. 5 (default: the
        figure's own ``MAX_POINTS``; the legend says how many of how many).
    source, eval_source : str, optional
        Whose ratings Figs. 4-5 and Fig. 6 rest on, printed under their titles.
    """
    from . import estimate_figure, ratings_figure, samples_figure
    from .samples import MAX_POINTS
    label = "true D of the simulated listener" if D is not None else None
    grid = dict(n_grid=40)           # D under six panels: 40 x 40 reads as well as 60 x 60,
                                     # at half the bytes
    fig4 = estimate_figure(est, net, data=space.points, D=D, source=source, D_label=label, **grid)
    fig5 = samples_figure(space.points, samples["humangan_early"], samples["humandiffusion"],
                          humangan_collapsed=samples.get("humangan_collapsed"),
                          humangan_initial=gan_start, field_fn=net.score, D=D, source=source,
                          D_label=label, max_points=n_show or MAX_POINTS, **grid)
    fig6 = ratings_figure(ratings, names=kinds.LABELS, source=eval_source,
                          order=[k for k in kinds.ORDER if k in ratings])
    under = "the true D of the simulated listener" if D is not None else "the network's D head"
    return [
        (f"Fig. 4: the NES estimate of \u2207D from the ratings, the regularised target, and "
         f"the field the score network learned (background: {under}).", lighten(fig4)),
        ("Fig. 5: HumanGAN early-stopped gathers near the mode of D and, trained on, collapses "
         "onto one voice; HumanDiffusion's Langevin samples (started on the real voices) spread "
         "wider than the data. Open markers: where the generator started.", lighten(fig5)),
        ("Fig. 6: MUSHRA-style ratings of real and generated clips by the evaluation "
         "listeners (raters who failed screening left out).", lighten(fig6)),
    ]


def _cell(row: dict, key: str) -> str:
    value = row.get(key)
    return "\u2014" if value is None else COLUMNS[key][1].format(value)


def _label(key: str, row: dict) -> str:
    if "ran_away_at_step" not in row:
        return ROWS[key]
    return f"{RAN_AWAY_LABELS[key]} (ran away at ascent step {row['ran_away_at_step']})"


def table_cells(result: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table as strings (missing values as an em dash)."""
    rows = result["table"]["rows"]
    header = ["", *(h for h, _ in COLUMNS.values())]
    body = [[_label(k, rows[k]), *(_cell(rows[k], c) for c in COLUMNS)] for k in ROWS if k in rows]
    return header, body


_ENERGY_NOTE = {
    False: ("Energy distance: square root of the V-statistic to an independent exact sample of "
            "p_H of the same size, so the p_H row is the metric's resolution."),
    True: "Energy distances need the true p_H, which only a simulated listener knows.",
}


def markdown_table(result: dict) -> str:
    """The table as Markdown, with the ratings spent above it and what the columns mean below."""
    t = result["table"]
    header, body = table_cells(result)
    lines = [f"Ratings spent: {t['ratings_spent']} (resumed from the store: "
             f"{t['ratings_resumed']}, new this run: {t['ratings_new_this_run']}).", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    lines += ["", "Variance: trace of the covariance in the normalised feature space (real data: "
              "d). Mean rating: MUSHRA-style evaluation, raters who failed screening left out. "
              + _ENERGY_NOTE[t["rows"]["humandiffusion"]["energy_to_pH"] is None]]
    lines += ran_away_note(result)
    return "\n".join(lines)


def write_html(path: str | Path, result: dict, figs: list[tuple[str, object]]) -> Path:
    """Write the self-contained report; plotly.js is embedded once, with the first figure."""
    path, cfg = Path(path), result["config"]
    header, body = table_cells(result)
    esc = html.escape
    table = ("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"
             + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in body)
             + "</table>")
    secs = "".join(f"<tr><td>{esc(k)}</td><td>{v:.1f} s</td></tr>"
                   for k, v in result["seconds"].items())
    plots = "".join(
        f"<h2>{esc(caption.split(':')[0])}</h2><p>{esc(caption.split(':', 1)[1].strip())}</p>"
        + fig.to_html(full_html=False, include_plotlyjs=False, default_width="100%")
        for caption, fig in figs)
    js, js_name = plotlyjs()
    t = result["table"]
    doc = f"""<!doctype html><html><head><meta charset="utf-8">
<title>HumanDiffusion reproduction: budget {cfg['budget']}, {esc(cfg['listener'])} listener</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em;line-height:1.4}}
td,th{{padding:3px 12px;border-bottom:1px solid #ddd;text-align:right}}
td:first-child,th:first-child{{text-align:left}} pre{{background:#f6f6f6;padding:1em}}</style>
<!-- {esc(js_name)}, embedded once: the report opens offline -->
<script type="text/javascript">{js}</script>
</head><body>
<h1>HumanDiffusion reproduction</h1>
{_command_html(result)}
<h2>Claims checked</h2><ul>\
{''.join(f'<li>{esc(c)}</li>' for c in (str(c) for c in check_claims(result)))}</ul>
<h2>Table</h2>
<p>Ratings spent on perceptual gradients: {t['ratings_spent']} (resumed from the store:
{t['ratings_resumed']}, new this run: {t['ratings_new_this_run']}). Variance: trace of the
covariance in the normalised feature space (real data: d); mean rating: MUSHRA-style
evaluation, raters who failed screening left out. \
{esc(_ENERGY_NOTE[t['rows']['humandiffusion']['energy_to_pH'] is None])}
({cfg['particles']} samples per method.)</p>
{table}
{''.join(f'<p><b>{esc(n)}</b></p>' for n in ran_away_note(result))}
{rounds_html(result)}
{plots}
<h2>Time per stage</h2><table>{secs}</table>
<h2>Configuration</h2><pre>\
{esc(json.dumps({k: result[k] for k in ('config', 'engine', 'store', 'machine')}, indent=2))}</pre>
</body></html>"""
    path.write_text(doc, encoding="utf-8")
    return path


def rounds_html(result: dict) -> str:
    """The study's rounds as a small table (empty for the fixed plan)."""
    rounds = result.get("rounds") or []
    if len(rounds) < 2:
        return ""
    words = {"data": "the real voices", "resampled": "points resampled from the model's D"}
    rows = "".join(f"<tr><td>{r['round'] + 1}</td><td>{r['points']}</td><td>{r['ratings']}</td><td>"
                   f"{r['fitted_on_ratings'] if r['round'] else '(around the real voices)'}</td>"
                   f"<td>{words.get(r.get('chains_from'), '-') if r['round'] else '-'}</td></tr>"
                   for r in rounds)
    final = result.get("chains_from")
    closing = (f" The final fit's Langevin chains started from {words[final]}." if final in words
               else "")
    return ("<h2>Rounds</h2><p>The study rated in rounds: round 1 around the real voices, each "
            "later round where the score network fitted on the ratings so far sent its samples "
            "(its edge, away from what was rated)." + closing + "</p><table><tr><th>round</th>"
            "<th>points asked about</th><th>ratings</th><th>planned from ratings</th>"
            "<th>chains started from</th></tr>" + rows + "</table>")


def sources(result: dict) -> tuple[str, str]:
    """Whose ratings the report's figures rest on: (Figs. 4-5, Fig. 6)."""
    cfg, t = result["config"], result["table"]
    kind = cfg["listener"]
    n_eval = result.get("store", {}).get("evaluation_ratings")
    return (f"{kind} listener, {t['ratings_spent']} ratings",
            f"{cfg['eval_listeners']} {kind} evaluation listeners, "
            + (f"{n_eval} ratings" if n_eval is not None else f"{cfg['eval_pages']} pages each"))


def write_report(run, path: str | Path) -> Path:
    """``report.html`` of a :class:`~hd_widgets.study.reproduction.Reproduction` at ``path``."""
    fig_source, eval_source = sources(run.result)
    return write_html(path, run.result, figures(run.space, run.estimate, run.network, run.samples,
                                                run.gan_start, run.ratings, D=run.D,
                                                source=fig_source, eval_source=eval_source))
