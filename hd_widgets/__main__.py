"""Command line: ``python -m hd_widgets reproduce ...`` (also installed as ``hd-widgets``).

Bad arguments get a one-line error and exit status 2 before any work starts.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

LISTENERS = ("simulated", "audio")


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
    r.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def validate(args: argparse.Namespace) -> str | None:
    """Check every argument before any work starts; return a one-line problem or None."""
    if args.listener not in LISTENERS:
        return f"unknown listener {args.listener!r} (choose {' or '.join(LISTENERS)})"
    if args.budget < 40:
        return f"--budget must be at least 40 ratings, got {args.budget}"
    if args.d < 1:
        return f"--d must be at least 1, got {args.d}"
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        return f"output folder {str(out)!r} is not writable ({err.strerror or err})"
    if args.corpus is not None:
        from .corpus import Corpus, CorpusError
        try:
            corpus = Corpus.from_folder(args.corpus, errors="skip")
        except CorpusError as err:
            return f"corpus: {err}"
        if args.d >= len(corpus):
            return f"--d {args.d} needs more than {args.d} usable clips; {args.corpus} has {len(corpus)}"
    elif args.d >= 60:
        return f"--d must be below 60 for the shipped corpus, got {args.d}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "reproduce":
        problem = validate(args)
        if problem:
            print(f"hd_widgets reproduce: error: {problem}", file=sys.stderr)
            return 2
        from .reproduce import reproduce
        reproduce(budget=args.budget, seed=args.seed, listener=args.listener,
                  out=Path(args.out), corpus=args.corpus, d=args.d, verbose=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
