"""Command line: ``python -m hd_widgets reproduce ...`` (also installed as ``hd-widgets``).

Bad arguments get a one-line error on stderr and exit status 2 before any work starts,
and leave nothing behind on disk. Kept free of heavy imports, so that is quick.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

LISTENERS = ("simulated", "audio")   # as hd_widgets.reproduce.LISTENERS (not imported: torch)
MIN_BUDGET = 40                      # as hd_widgets.reproduce.MIN_BUDGET


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
    r.add_argument("--alpha", type=float, default=0.01,
                   help="Langevin step size (default 0.01; smaller if the sampler diverges)")
    r.add_argument("--steps", type=int, default=1000, help="Langevin steps (default 1000)")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    return p


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
    if args.listener not in LISTENERS:
        return f"unknown listener {args.listener!r} (choose {' or '.join(LISTENERS)})", None
    if args.budget < MIN_BUDGET:
        return f"--budget must be at least {MIN_BUDGET} ratings, got {args.budget}", None
    if args.seed < 0:
        return f"--seed must be >= 0, got {args.seed}", None
    if args.d < 1:
        return f"--d must be at least 1, got {args.d}", None
    if not (math.isfinite(args.alpha) and args.alpha > 0):
        return f"--alpha must be a finite number > 0, got {args.alpha}", None
    if args.steps < 1:
        return f"--steps must be at least 1, got {args.steps}", None
    if args.corpus is not None:
        from .corpus import Corpus, CorpusError
        try:
            corpus = Corpus.from_folder(args.corpus, errors="skip")
        except CorpusError as err:
            return f"corpus: {err}", None
        if args.d >= len(corpus):
            return f"--d {args.d} needs more than {args.d} usable clips; {args.corpus} has {len(corpus)}", None
    elif args.d >= 60:
        return f"--d must be below 60 for the shipped corpus, got {args.d}", None
    problem = _probe_output(Path(args.out))
    return problem, (corpus if problem is None else None)


def _fail(problem: str, status: int = 2) -> int:
    print(f"hd_widgets reproduce: error: {' '.join(str(problem).split())}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "reproduce":
        problem, corpus = validate(args)
        if problem:
            return _fail(problem)
        from .corpus import CorpusError
        from .langevin import LangevinDivergence
        from .reproduce import STORE_NAME, reproduce
        kept = f"the ratings so far are kept in {Path(args.out) / STORE_NAME}"
        try:
            reproduce(budget=args.budget, seed=args.seed, listener=args.listener,
                      out=Path(args.out), corpus=corpus if corpus is not None else args.corpus,
                      d=args.d, alpha=args.alpha,
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
