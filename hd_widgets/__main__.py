"""Command line: ``python -m hd_widgets reproduce ...`` and ``python -m hd_widgets rate-page
...`` (also installed as ``hd-widgets``).

The top of the house: it may use every stage. :func:`run` is the command as a function:
the study's :func:`~hd_widgets.study.reproduction.reproduce`, then the views' report.
Bad arguments get a one-line error on stderr and exit status 2 before any work starts
(checked by :class:`~hd_widgets.study.config.ReproduceConfig` itself, which imports
nothing heavy), and leave nothing behind on disk.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .study.config import LISTENERS, ReproduceConfig


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hd_widgets", description="HumanDiffusion from the command line.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("reproduce", help="run the paper's experiment end to end and write a report",
                       description="Builds the feature space, plans queries, lets a listener "
                       "rate them into a ratings store in OUT, estimates perceptual scores, "
                       "trains the score network, runs Langevin and HumanGAN, runs the "
                       "MUSHRA-style evaluation, and writes report.html and results.json. "
                       "An interrupted run resumes from the ratings already stored.")
    r.add_argument("--budget", type=int, default=5000,
                   help="ratings to spend on perceptual gradients (default 5000, the study budget)")
    r.add_argument("--seed", type=int, default=0, help="seed for every random choice (default 0)")
    r.add_argument("--listener", default="simulated",
                   help=f"who rates: {' or '.join(LISTENERS)} (default simulated)")
    r.add_argument("--out", default="hd_reproduce", help="output folder (default ./hd_reproduce)")
    r.add_argument("--corpus", default=None,
                   help="folder of WAV/FLAC vowels (default: the shipped corpus)")
    r.add_argument("--d", type=int, default=2, help="dimension of the feature space (default 2)")
    r.add_argument("--rounds", type=int, default=3,
                   help="rate in rounds, each planned where the model's samples went "
                        "(default 3; 1 is the fixed plan around the real data)")
    r.add_argument("--alpha", type=float, default=0.01,
                   help="Langevin step size (default 0.01; smaller if the sampler diverges)")
    r.add_argument("--steps", type=int, default=1000, help="Langevin steps (default 1000)")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    _rate_page_parser(sub)
    return p


def _rate_page_parser(sub) -> None:
    """``rate-page``: the rating page for raters without Jupyter (Voilà; widgets/page.py)."""
    r = sub.add_parser("rate-page", help="serve the rating page for raters without Jupyter",
                       description="Serves the packaged rating page with Voila: raters open "
                       "http://HOST:PORT/?rater=ID in a browser and rate the plan into the "
                       "store. Needs pip install 'hd_widgets[page]'.")
    r.add_argument("--store", default=None,
                   help="the store: a path or a database URL (default: $HD_WIDGETS_STORE)")
    r.add_argument("--plan", required=True, help="the name of a plan stored in it")
    r.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    r.add_argument("--ip", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for the whole network)")
    r.add_argument("--space", default=None,
                   help="a space saved with FeatureSpace.save (default: the shipped corpus's)")


def rate_page(args: argparse.Namespace) -> int:
    """Check the store and plan (read-only, nothing written), then run Voila on the page,
    with the settings in its environment (a URL's password never on a command line)."""
    from .ratings.locations import STORE_ENV, masked
    from .ratings.store import RatingError, RatingsStore, StoreUnreachable
    store = args.store or os.environ.get(STORE_ENV, "").strip()
    if not store:
        return _fail(f"--store: give a store (a path or a database URL) or set {STORE_ENV}",
                     command="rate-page")
    if not 0 < args.port < 65536:
        return _fail(f"--port must be between 1 and 65535, got {args.port}", command="rate-page")
    try:
        with RatingsStore(store, readonly=True) as s:
            s.plan(args.plan)
    except (RatingError, StoreUnreachable) as err:
        return _fail(str(err), command="rate-page")
    if args.space is not None and not Path(args.space).is_file():
        return _fail(f"--space: no saved space at {args.space}", command="rate-page")
    try:
        import voila  # noqa: F401
    except ImportError:
        return _fail("the rating page needs Voila: pip install 'hd_widgets[page]'",
                     command="rate-page")
    from .widgets.page import PAGE_NOTEBOOK, PLAN_ENV, SPACE_ENV
    env = {**os.environ, STORE_ENV: store, PLAN_ENV: args.plan}
    if args.space is not None:
        env[SPACE_ENV] = str(Path(args.space).absolute())
    print(f"rating page for plan {args.plan!r} of {masked(store)}: "
          f"http://{args.ip}:{args.port}/?rater=ID", flush=True)
    cmd = [sys.executable, "-m", "voila", str(PAGE_NOTEBOOK), "--no-browser",
           f"--port={args.port}", f"--Voila.ip={args.ip}", "--show_tracebacks=False"]
    # Voila takes this process's place, so stopping the command (Ctrl-C, a service manager's
    # SIGTERM) stops the page itself and leaves no server behind.
    sys.stdout.flush()
    os.execve(sys.executable, cmd, env)


def _probe_output(out: Path) -> str | None:
    """Can ``out`` be created and written? Leaves the file system exactly as it was."""
    missing, p = [], out.absolute()
    while not (p.exists() or p.is_symlink()) and p != p.parent:
        missing.append(p)                 # deepest first
        p = p.parent
    if not p.is_dir():
        return f"output folder {str(out)!r} cannot be made: {str(p)!r} is not a folder"
    try:
        for m in reversed(missing):
            m.mkdir()
        probe = out / f".hd_widgets-write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        return f"output folder {str(out)!r} is not writable ({err.strerror or err})"
    finally:
        for m in missing:                 # remove what the probe made, deepest first
            try:
                m.rmdir()
            except OSError:
                pass
    return None


def validate(args: argparse.Namespace) -> tuple[str | None, object]:
    """Check every argument before any work starts.

    Returns ``(problem, corpus)``: a one-line problem or None, and the Corpus read from
    ``--corpus`` (None without one), so the run uses it instead of reading the folder again.
    """
    corpus = None
    try:
        ReproduceConfig(budget=args.budget, seed=args.seed, listener=args.listener, d=args.d,
                        rounds=args.rounds, alpha=args.alpha, steps=args.steps)
    except ValueError as err:
        flag = next((f"--{k}" for k in ("budget", "seed", "d", "rounds", "alpha", "steps")
                     if str(err).startswith(k)), None)
        return (f"{flag}: {err}" if flag else str(err)), None
    if args.corpus is not None:
        from .speech.corpus import Corpus, CorpusError
        try:
            corpus = Corpus.from_folder(args.corpus, errors="skip")
        except CorpusError as err:
            return f"corpus: {err}", None
        if args.d >= len(corpus):
            return (f"--d {args.d} needs more than {args.d} usable clips; "
                    f"{args.corpus} has {len(corpus)}"), None
    elif args.d >= 60:
        return f"--d must be below 60 for the shipped corpus, got {args.d}", None
    problem = _probe_output(Path(args.out))
    return problem, (corpus if problem is None else None)


def _fail(problem: str, status: int = 2, command: str = "reproduce") -> int:
    print(f"hd_widgets {command}: error: {' '.join(str(problem).split())}", file=sys.stderr)
    return status


def run(*, out: str | Path = "hd_reproduce", verbose: bool = True, **kwargs) -> dict:
    """``python -m hd_widgets reproduce`` as a function: run the reproduction (keyword
    arguments as :func:`hd_widgets.study.reproduction.reproduce`), write ``report.html``
    and ``results.json`` into ``out``, print the table, and return the results."""
    from .study.reproduction import Stages, reproduce
    from .views.report import markdown_table, write_report
    stages = Stages(verbose)
    rep = reproduce(out=out, verbose=verbose, stages=stages, **kwargs)
    with stages("report", "report.html and results.json"):
        write_report(rep, Path(out) / "report.html")
    rep.write_results(out)
    if verbose:
        print(f"\nwrote {Path(out) / 'report.html'} and {Path(out) / 'results.json'}\n\n"
              f"{markdown_table(rep.result)}")
    return rep.result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "rate-page":
        return rate_page(args)
    if args.command == "reproduce":
        problem, corpus = validate(args)
        if problem:
            return _fail(problem)
        from .method.sampling import LangevinDivergence
        from .speech.corpus import CorpusError
        from .study.reproduction import STORE_NAME
        kept = f"the ratings so far are kept in {Path(args.out) / STORE_NAME}"
        try:
            run(budget=args.budget, seed=args.seed, listener=args.listener,
                      out=Path(args.out), corpus=corpus if corpus is not None else args.corpus,
                      d=args.d, rounds=args.rounds, alpha=args.alpha,
                      steps=args.steps, verbose=not args.quiet)
        except CorpusError as err:           # e.g. an unvoiced clip, found by WORLD analysis
            return _fail(f"corpus: {err}")
        except LangevinDivergence as err:
            return _fail(f"{err} ({kept}; rerun with a smaller --alpha to resume)", 1)
        except KeyboardInterrupt:
            return _fail(f"interrupted; {kept}; run the same command again to resume", 130)
    return 0


if __name__ == "__main__":
    sys.exit(main())
