"""Regenerate the shipped corpus of sustained /a/ (hd_widgets/data/corpus_a/).

The paper used JVPD (a Japanese vowel database), which cannot be fetched here, so the
package ships a synthetic stand-in: 60 voices (20 men, 20 women, 20 children), each one
second of a sustained Japanese /a/ made by espeak-ng with a voice variant of its own.

Recipe (measured in NOTES.md): per speaker, a pitch around the group's F0 (about 115 /
215 / 270 Hz, 12 % spread in log F0), a formant scale around 1.00 / 1.17 / 1.32 (5 %
spread) with small per-formant jitter, flutter 2-12 and roughness 0-2 (3 caused octave
errors in harvest). The text ``[[a:a:a:a:]]`` is spoken by the Japanese voice at speed
80; the central second is kept, resampled to 16 kHz, given 20 ms ramps and written as
16-bit FLAC with ``labels.csv`` (file, group).

Only regeneration needs espeak-ng (Debian package ``espeak-ng``); the package itself
reads the FLAC files. Usage::

    python scripts/make_corpus.py [--out hd_widgets/data/corpus_a] [--seed 0]
"""
from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import tempfile
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

GROUPS = {  # group: (F0 in Hz, formant scale)
    "man": (115.0, 1.00),
    "woman": (215.0, 1.17),
    "child": (270.0, 1.32),
}
PER_GROUP = 20
SR = 16000
RAMP_S = 0.020


def espeak_data_dir() -> Path:
    """Locate the system espeak-ng-data folder (copied so variants can be added)."""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True)
    # "eSpeak NG text-to-speech: 1.51  Data at: /usr/lib/x86_64-linux-gnu/espeak-ng-data"
    return Path(out.stdout.split("Data at:")[1].strip())


def voice_file(name: str, f0: float, scale: float, rng: np.random.Generator) -> str:
    f0_s = f0 * np.exp(0.12 * rng.standard_normal())
    scale_s = scale * np.exp(0.05 * rng.standard_normal())
    lines = [f"name {name}", "language ja", f"pitch {f0_s:.0f} {f0_s * 1.02:.0f}"]
    for k in range(1, 6):
        jitter = np.exp(0.03 * rng.standard_normal())
        height = 100 * np.exp(0.10 * rng.standard_normal())
        lines.append(f"formant {k} {100 * scale_s * jitter:.0f} {height:.0f} 100")
    lines += [f"flutter {rng.integers(2, 13)}", f"roughness {rng.integers(0, 3)}"]
    return "\n".join(lines) + "\n"


def speak(data_root: Path, variant: str, wav: Path) -> tuple[np.ndarray, int]:
    subprocess.run(["espeak-ng", f"--path={data_root}", "-v", f"ja+{variant}", "-s", "80",
                    "-w", str(wav), "[[a:a:a:a:]]"], check=True, capture_output=True)
    return sf.read(wav)


def central_second(x: np.ndarray, sr: int) -> np.ndarray:
    g = gcd(sr, SR)
    y = resample_poly(x, SR // g, sr // g)
    mid = len(y) // 2
    y = y[mid - SR // 2: mid + SR // 2]
    if len(y) != SR:
        raise RuntimeError(f"espeak output too short: {len(x) / sr:.2f} s")
    n = int(RAMP_S * SR)
    ramp = np.sin(np.linspace(0, np.pi / 2, n)) ** 2
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1]
                                         / "hd_widgets" / "data" / "corpus_a"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(espeak_data_dir(), root / "espeak-ng-data")
        variants = root / "espeak-ng-data" / "voices" / "!v"
        for group, (f0, scale) in GROUPS.items():
            for i in range(PER_GROUP):
                name = f"{group}{i + 1:02d}"
                (variants / f"hdw_{name}").write_text(voice_file(name, f0, scale, rng))
                x, sr = speak(root, f"hdw_{name}", root / f"{name}.wav")
                y = central_second(np.asarray(x, dtype=np.float64), sr)
                sf.write(out / f"{name}.flac", y, SR, subtype="PCM_16")
                rows.append((f"{name}.flac", group))
    with open(out / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "group"])
        w.writerows(rows)
    print(f"wrote {len(rows)} clips to {out}")


if __name__ == "__main__":
    main()
