"""The reproduction report: the paper's figures and a table of numbers in one HTML file.

:func:`hd_widgets.reproduce.reproduce` computes; this module only shows. It turns the
run's results (a JSON-able dict) and the engine's objects into

- :func:`figures`: paper Figs. 4, 5 and 6 as Plotly figures (via :mod:`hd_widgets.plots`);
- :func:`markdown_table`: the table of numbers, ready to paste into a README;
- :func:`write_html`: one self-contained ``report.html`` (plotly.js embedded once, so it
  opens offline) with the claims checked, the table, the figures, the time per stage and
  the full configuration.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

__all__ = ["ROWS", "COLUMNS", "figures", "markdown_table", "write_html", "command_line"]

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
# labels of the clip kinds on the Fig. 6 axis
KIND_LABELS = {"real": "real", "pH": "exact p_H", "humandiffusion": "HumanDiffusion",
               "humangan_early": "HumanGAN early", "humangan_collapsed": "HumanGAN collapsed",
               "reference": "reference", "anchor": "anchor"}


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
    from . import plots
    fig4 = plots.estimate_figure(est, net, data=space.points, D=D)
    fig5 = plots.samples_figure(space.points, samples["humangan_early"][:n_show],
                                samples["humandiffusion"][:n_show], humangan_initial=gan_start,
                                humandiffusion_initial=space.points, field_fn=net.score, D=D)
    fig6 = plots.ratings_figure(ratings, names=KIND_LABELS,
                                order=[k for k in KIND_LABELS if k in ratings])
    under = "the true D" if D is not None else "the network's D head"
    return [
        (f"Fig. 4: the NES estimate of \u2207D from the ratings, the regularised target, and "
         f"the field the score network learned (background: {under}).", fig4),
        ("Fig. 5: HumanGAN (early-stopped) gathers near the mode of D; HumanDiffusion's "
         "Langevin samples spread wider than the data. Open markers: where each started.", fig5),
        ("Fig. 6: MUSHRA-style ratings of real and generated clips by the evaluation "
         "listeners (raters who failed screening left out).", fig6),
    ]


def command_line(config: dict, defaults: dict, out) -> str:
    """The shell command that reruns ``config`` (options that differ from ``defaults``)."""
    flags = ("budget", "seed", "listener", "d", "corpus", "alpha", "steps")   # the CLI's options
    args = [f"--{k} {config[k]}" for k in flags if config[k] != defaults[k]]
    return " ".join(["python -m hd_widgets reproduce", *args, f"--out {out}"])


def _cell(row: dict, key: str) -> str:
    value = row.get(key)
    return "\u2014" if value is None else COLUMNS[key][1].format(value)


def _label(key: str, row: dict) -> str:
    if "ran_away_at_step" not in row:
        return ROWS[key]
    return f"{_RAN_AWAY[key]} (ran away at ascent step {row['ran_away_at_step']})"


_RAN_AWAY = {"humangan_early": "HumanGAN, early-stopped", "humangan_collapsed": "HumanGAN, trained on"}


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


FAR_FROM_PH = 1.5    # a variance ratio this many times above or below p_H's is flagged
COLLAPSED = 0.3      # HumanGAN counts as collapsed below this variance ratio


def _max_norm(result: dict) -> float:
    """HumanGAN's runaway threshold in this run (its config; 100 by default)."""
    return result.get("engine", {}).get("humangan_early", {}).get("max_norm", 100.0)


def ran_away_note(result: dict) -> list[str]:
    """One sentence per method whose HumanGAN generator ran away (rows with ``ran_away_at_step``)."""
    rows = result["table"]["rows"]
    return [f"{_RAN_AWAY[k]}: ran away at ascent step {rows[k]['ran_away_at_step']} (generated points "
            f"beyond |x| = {_max_norm(result):g}), so its numbers describe a runaway, not a collapse."
            for k in ("humangan_early", "humangan_collapsed") if "ran_away_at_step" in rows.get(k, {})]


def claims(result: dict) -> list[str]:
    """The paper's claims, each stated with the numbers of this run and checked.

    When the truth is known (simulated listener), HumanDiffusion's spread is also held
    against p_H's own, so a run with too few ratings does not pass for a success.
    """
    rows, budget = result["table"]["rows"], result["config"]["budget"]
    hd, early, coll, real = (rows[k] for k in ("humandiffusion", "humangan_early",
                                                "humangan_collapsed", "real"))
    vr = hd["variance_ratio"]
    first = (f"HumanDiffusion spreads wider than the data: variance ratio {vr:.2f} "
             f"(> 1: {'yes' if vr > 1 else 'NO'})")
    ph = rows.get("pH", {}).get("variance_ratio")
    if ph is not None:
        far = not (ph / FAR_FROM_PH <= vr <= ph * FAR_FROM_PH)
        first += (f"; exact p_H samples: {ph:.2f}" + (
            f" -- HumanDiffusion is far from it: {budget} ratings were too few for the score "
            f"network to shape the region (bench/fidelity.py measures the error per budget)"
            if far else ""))
    out = [first + "."]
    if "ran_away_at_step" in coll:
        out.append(f"HumanGAN did not collapse, it ran away: at ascent step "
                   f"{coll['ran_away_at_step']} its generated points left "
                   f"|x| = {_max_norm(result):g}, because the "
                   f"score network fitted on {budget} ratings has no pull back far from the data "
                   f"(HumanDiffusion's regularised target supplies one; Langevin stayed: "
                   f"variance ratio {vr:.2f}).")
    else:
        out.append(f"HumanGAN collapses when trained on: variance ratio {coll['variance_ratio']:.3f} "
                   f"(< {COLLAPSED}: {'yes' if coll['variance_ratio'] < COLLAPSED else 'NO'}); "
                   f"early-stopped it keeps {early['variance_ratio']:.2f} (below HumanDiffusion's: "
                   f"{'yes' if early['variance_ratio'] < vr else 'NO'}).")
    if hd.get("evaluation_mean") is not None and real.get("evaluation_mean") is not None:
        ideal = rows.get("pH", {}).get("evaluation_mean")
        out.append(f"Generated clips rated nearly as natural as real ones: mean rating "
                   f"{hd['evaluation_mean']:.2f} (HumanDiffusion) vs {real['evaluation_mean']:.2f} "
                   f"(real)" + (f"; exact p_H samples get {ideal:.2f}." if ideal is not None else "."))
    if hd.get("energy_to_pH") is not None:
        out.append(f"Distance to p_H: HumanDiffusion {hd['energy_to_pH']:.4f}, floor "
                   f"{rows['floor']['energy_to_pH']:.4f}, HumanGAN "
                   f"{'(ran away) ' if 'ran_away_at_step' in early else ''}{early['energy_to_pH']:.4f}.")
    return out


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
<h2>Claims checked</h2><ul>{''.join(f'<li>{esc(c)}</li>' for c in claims(result))}</ul>
<h2>Table</h2>
<p>Ratings spent on perceptual gradients: {t['ratings_spent']} (resumed from the store:
{t['ratings_resumed']}, new this run: {t['ratings_new_this_run']}). Variance: trace of the
covariance in the normalised feature space (real data: d); mean rating: MUSHRA-style
evaluation, raters who failed screening left out. {esc(_ENERGY_NOTE[t['rows']['humandiffusion']['energy_to_pH'] is None])}
({cfg['particles']} samples per method.)</p>
{table}
{''.join(f'<p><b>{esc(n)}</b></p>' for n in ran_away_note(result))}
{plots}
<h2>Time per stage</h2><table>{secs}</table>
<h2>Configuration</h2><pre>{esc(json.dumps({k: result[k] for k in ('config', 'engine', 'store', 'machine')}, indent=2))}</pre>
</body></html>"""
    path.write_text(doc, encoding="utf-8")
    return path
