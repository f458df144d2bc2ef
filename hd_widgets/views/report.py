"""The reproduction report: the paper's figures and a table of numbers in one HTML file.

:func:`hd_widgets.study.reproduction.reproduce` computes and
:mod:`hd_widgets.study.claims` judges; this module only shows. It turns a
:class:`~hd_widgets.study.reproduction.Reproduction` into

- :func:`figures`: paper Figs. 4, 5 and 6 as Plotly figures (via :mod:`hd_widgets.views`);
- :func:`markdown_table`: the table of numbers, ready to paste into a README;
- :func:`write_html` / :func:`write_report`: one self-contained ``report.html`` (plotly.js
  embedded once, so it opens offline) with the claims checked, the table, the figures, the
  time per stage and the full configuration.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from ..ratings import kinds
from ..study.claims import RAN_AWAY_LABELS, check_claims, ran_away_note

__all__ = ["ROWS", "COLUMNS", "figures", "markdown_table", "write_html", "write_report"]

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
def figures(space, est, net, samples: dict[str, np.ndarray], gan_start: np.ndarray,
            ratings: dict[str, np.ndarray], D=None, n_show: int = 2000) -> list[tuple[str, object]]:
    """Paper Figs. 4-6 as ``(caption, plotly Figure)`` pairs.

    Parameters
    ----------
    space : FeatureSpace             its ``points`` (N, d) are the real data.
    est, net : Estimate, ScoreNet    targets and the trained network (Fig. 4).
    samples : dict kind -> (n, d)    needs ``humandiffusion`` and ``humangan_early``.
    gan_start : (m, d)               the generator after its warm start on the data.
    ratings : dict kind -> (n_k,)    evaluation ratings (Fig. 6).
    D : callable (n, d) -> (n,), optional   the true naturalness, if known.
    n_show : int                     samples drawn per method in Fig. 5.
    """
    from . import estimate_figure, ratings_figure, samples_figure
    fig4 = estimate_figure(est, net, data=space.points, D=D)
    fig5 = samples_figure(space.points, samples["humangan_early"][:n_show],
                                samples["humandiffusion"][:n_show], humangan_initial=gan_start,
                                humandiffusion_initial=space.points, field_fn=net.score, D=D)
    fig6 = ratings_figure(ratings, names=kinds.LABELS,
                          order=[k for k in kinds.ORDER if k in ratings])
    under = "the true D" if D is not None else "the network's D head"
    return [
        (f"Fig. 4: the NES estimate of \u2207D from the ratings, the regularised target, and "
         f"the field the score network learned (background: {under}).", fig4),
        ("Fig. 5: HumanGAN (early-stopped) gathers near the mode of D; HumanDiffusion's "
         "Langevin samples spread wider than the data. Open markers: where each started.", fig5),
        ("Fig. 6: MUSHRA-style ratings of real and generated clips by the evaluation "
         "listeners (raters who failed screening left out).", fig6),
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
        + fig.to_html(full_html=False, include_plotlyjs=(i == 0), default_width="100%")
        for i, (caption, fig) in enumerate(figs))
    t = result["table"]
    doc = f"""<!doctype html><html><head><meta charset="utf-8">
<title>HumanDiffusion reproduction: budget {cfg['budget']}, {esc(cfg['listener'])} listener</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em;line-height:1.4}}
td,th{{padding:3px 12px;border-bottom:1px solid #ddd;text-align:right}}
td:first-child,th:first-child{{text-align:left}} pre{{background:#f6f6f6;padding:1em}}</style>
</head><body>
<h1>HumanDiffusion reproduction</h1>
<p>Command: <code>{esc(result['command'])}</code></p>
<h2>Claims checked</h2><ul>{''.join(f'<li>{esc(c)}</li>' for c in (str(c) for c in check_claims(result)))}</ul>
<h2>Table</h2>
<p>Ratings spent on perceptual gradients: {t['ratings_spent']} (resumed from the store:
{t['ratings_resumed']}, new this run: {t['ratings_new_this_run']}). Variance: trace of the
covariance in the normalised feature space (real data: d); mean rating: MUSHRA-style
evaluation, raters who failed screening left out. {esc(_ENERGY_NOTE[t['rows']['humandiffusion']['energy_to_pH'] is None])}
({cfg['particles']} samples per method.)</p>
{table}
{''.join(f'<p><b>{esc(n)}</b></p>' for n in ran_away_note(result))}
{rounds_html(result)}
{plots}
<h2>Time per stage</h2><table>{secs}</table>
<h2>Configuration</h2><pre>{esc(json.dumps({k: result[k] for k in ('config', 'engine', 'store', 'machine')}, indent=2))}</pre>
</body></html>"""
    path.write_text(doc, encoding="utf-8")
    return path


def rounds_html(result: dict) -> str:
    """The study's rounds as a small table (empty for the fixed plan)."""
    rounds = result.get("rounds") or []
    if len(rounds) < 2:
        return ""
    rows = "".join(f"<tr><td>{r['round'] + 1}</td><td>{r['points']}</td><td>{r['ratings']}</td>"
                   f"<td>{r['fitted_on_ratings'] if r['round'] else '(around the real voices)'}</td></tr>"
                   for r in rounds)
    return ("<h2>Rounds</h2><p>The study rated in rounds: round 1 around the real voices, each "
            "later round where the score network fitted on the ratings so far sent its samples "
            "(its edge, away from what was rated).</p><table><tr><th>round</th><th>points asked "
            "about</th><th>ratings</th><th>planned from ratings</th></tr>" + rows + "</table>")


def write_report(run, path: str | Path) -> Path:
    """``report.html`` of a :class:`~hd_widgets.study.reproduction.Reproduction` at ``path``."""
    return write_html(path, run.result, figures(run.space, run.estimate, run.network, run.samples,
                                                run.gan_start, run.ratings, D=run.D))
