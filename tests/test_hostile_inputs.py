"""Hostile inputs to the store, its file, corpora and saved spaces (issue 15).

Every bad input must raise a clear error that names the problem (and the file, where
there is one) and must leave the store file, the corpus folder or the saved file exactly
as it was: compared byte for byte (or row for row) before and after.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from pathlib import Path
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import unicodedata

import numpy as np
import pytest
import soundfile as sf

from hd_widgets.ratings.plan import Query, QueryPlan, nes_plan
from hd_widgets.ratings.store import RatingError, RatingsStore
from hd_widgets.speech.corpus import Corpus, CorpusError, read_audio
from hd_widgets.speech.space import CorpusAnalysis, FeatureSpace

SR = 16000
TABLES = ("plans", "queries", "ratings", "events", "undone")


# ============================================================================ helpers
def small_plan(name: str = "nes") -> QueryPlan:
    data = np.random.default_rng(1).standard_normal((5, 2))
    return nes_plan(data, n_periphery=4, n_pairs=2, seed=2, name=name)


def rows(path) -> dict[str, list]:
    """Every row of every table, through a separate connection."""
    with sqlite3.connect(path) as c:
        return {t: c.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES}


def files(folder: Path) -> dict[str, tuple]:
    """Everything in a folder: (kind, sha256 of regular files' bytes, link target).

    Uses lstat and opens regular files only, so FIFOs and dangling links are safe."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        if p.is_symlink():
            out[p.relative_to(folder).as_posix()] = ("link", os.readlink(p))
        elif p.is_dir():
            out[p.relative_to(folder).as_posix()] = ("dir",)
        elif os.path.isfile(p):
            out[p.relative_to(folder).as_posix()] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
        else:
            out[p.relative_to(folder).as_posix()] = ("special", st.st_mode)
    return out


@pytest.fixture
def rated(tmp_path):
    """An open store with a plan and three submissions, and its folder."""
    with RatingsStore(tmp_path / "r.sqlite", session="s1") as s:
        s.add_plan(small_plan())
        s.rate("nes", 0, [0.25, 0.75], rater="José")
        s.rate("nes", 1, [0.5, 0.5], rater="bob")
        s.skip("nes", 2, rater="bob")
        yield s


def unchanged(store: RatingsStore):
    """Context: the store's rows and its main file's bytes are the same afterwards."""
    class Check:
        def __enter__(self):
            self.rows, self.main = rows(store.path), store.path.read_bytes()
            return self

        def __exit__(self, *exc):
            if exc[0] is None:
                assert rows(store.path) == self.rows
                assert store.path.read_bytes() == self.main
    return Check()


# ============================================================================ exports
TARGETS = ["store", "wal", "shm", "journal", "symlink", "hardlink", "relative", "dotdot",
           "folder", "missing folder"]


def _target(case: str, store: RatingsStore, monkeypatch) -> Path:
    p, d = store.path, store.path.parent
    if case == "symlink":
        (d / "link.csv").symlink_to(p)
        return d / "link.csv"
    if case == "hardlink":
        os.link(p, d / "hard.csv")
        return d / "hard.csv"
    if case == "relative":
        monkeypatch.chdir(d)
        return Path(p.name)
    if case == "dotdot":
        (d / "sub").mkdir()
        return d / "sub" / ".." / p.name
    if case == "folder":
        return d
    if case == "missing folder":
        return d / "nope" / "out.csv"
    return {"store": p}.get(case, Path(f"{p}-{case}"))


@pytest.mark.parametrize("method", ["to_csv", "backup"])
@pytest.mark.parametrize("case", TARGETS)
def test_export_onto_the_store_or_nowhere_is_refused(rated, monkeypatch, case, method):
    target = _target(case, rated, monkeypatch)
    wal = Path(f"{rated.path}-wal").read_bytes()
    with unchanged(rated):
        expected = {"folder": "is a folder", "missing folder": "does not exist"}.get(
            case, "that is the ratings store")
        with pytest.raises(RatingError, match=expected):
            getattr(rated, method)(target)
    assert Path(f"{rated.path}-wal").read_bytes() == wal
    assert len(rated.ratings()) == 4                     # still a working store
    leftovers = [f for f in os.listdir(rated.path.parent) if f.endswith(".tmp")]
    assert leftovers == []


def test_backup_refuses_a_live_database_target(rated, tmp_path):
    other = tmp_path / "other.sqlite"
    with RatingsStore(other) as o:                   # open: other.sqlite-wal exists
        o.add_plan(small_plan("x"))
        before = other.read_bytes()
        with pytest.raises(RatingError, match=r"other\.sqlite-wal exists"):
            rated.backup(other)
        assert other.read_bytes() == before and o.plan_names() == ["x"]


def test_csv_failure_midway_leaves_the_old_file(rated, tmp_path, monkeypatch):
    out = tmp_path / "out.csv"
    out.write_text("the previous export\n")

    class Failing:
        def __init__(self, f):
            self.f = f

        def writerow(self, row):
            self.f.write(",".join(map(str, row)) + "\n")

        def writerows(self, rows):
            self.writerow(rows[0])
            raise OSError(28, "No space left on device")
    monkeypatch.setattr(csv, "writer", Failing)
    with pytest.raises(OSError, match="No space left"):
        rated.to_csv(out)
    assert out.read_text() == "the previous export\n"
    assert sorted(os.listdir(tmp_path)) == sorted(["out.csv", "r.sqlite", "r.sqlite-wal",
                                                   "r.sqlite-shm"])


FORMULAS = ["=1+2", "+SUM(A1:A9)", "-2+3", "@cmd", "=HYPERLINK(\"http://x\")"]


@pytest.mark.parametrize("text", FORMULAS, ids=["equals", "plus", "minus", "at", "hyperlink"])
def test_formula_text_is_quoted_in_csv_only(tmp_path, text):
    kinds = (text, "plain")
    plan = QueryPlan(text, (Query(0, np.array([[-0.5, 1.0], [-2.0, 3.0]]), kinds),))
    with RatingsStore(tmp_path / "r.sqlite") as s:
        s.add_plan(plan)
        s.rate(text, 0, [0.5, 0.25], rater=text, session="\t" + text)
        with open(s.to_csv(tmp_path / "out.csv"), newline="", encoding="utf-8") as f:
            got = list(csv.DictReader(f))
        assert [r["plan"] for r in got] == ["'" + text] * 2
        assert [r["rater"] for r in got] == ["'" + text] * 2
        assert [r["kind"] for r in got] == ["'" + text, "plain"]
        assert got[0]["session"] == "'\t" + text
        assert [r["x0"] for r in got] == ["-0.5", "-2.0"]      # numbers untouched
        df = s.to_dataframe()
        assert df["rater"].tolist() == [text, text] and df["kind"].tolist() == list(kinds)
        assert s.table(text)["rater"].tolist() == [text, text]


# ============================================================================ rater identity
SPELLINGS = [" José", "José ", "\tJosé\n", unicodedata.normalize("NFD", "José"),
             " " + unicodedata.normalize("NFD", "José") + "\r\n"]


@pytest.mark.parametrize("spelling", SPELLINGS, ids=["leading space", "trailing space",
                                                     "tab and newline", "NFD", "NFD and spaces"])
def test_rater_spellings_are_one_rater(rated, spelling):
    with unchanged(rated):
        with pytest.raises(RatingError, match="already answered"):
            rated.rate("nes", 0, [0.1, 0.1], rater=spelling)
        with pytest.raises(RatingError, match="already answered"):
            rated.skip("nes", 0, rater=spelling)
    assert rated.progress("nes", spelling) == rated.progress("nes", "José") == (1, 8)
    assert rated.next_query("nes", spelling).index == rated.next_query("nes", "José").index
    assert rated.ratings(rater=spelling) == rated.ratings(rater="José")
    assert rated.raters() == ["José", "bob"]
    assert [r.rater for r in rated.undo(rater=spelling)] == ["José", "José"]


# ============================================================================ timeout
@pytest.mark.parametrize("timeout", [math.nan, -1.0, -math.inf, math.inf, "3", None, True,
                                     [1.0], 1j])
def test_bad_timeout_is_refused_before_any_file_exists(tmp_path, timeout):
    with pytest.raises(RatingError, match="timeout"):
        RatingsStore(tmp_path / "new" / "r.sqlite", timeout=timeout)
    assert not (tmp_path / "new").exists()


# ============================================================================ the store file
def _sqlite(path: Path, *sql: str) -> None:
    c = sqlite3.connect(path)
    for statement in sql:
        c.execute(statement)
    c.commit()
    c.close()


def _our_store(path: Path) -> bytes:
    """The bytes of a closed store with ratings (checkpointed, no -wal)."""
    tmp = path.with_name("made.sqlite")
    with RatingsStore(tmp) as s:
        s.add_plan(small_plan())
        for q in range(8):
            s.rate("nes", q, [0.5, 0.5], rater="ada")
            s.rate("nes", q, [0.25, 0.5], rater="bob")
    data = tmp.read_bytes()
    tmp.unlink()
    return data


def _corrupt_index(path: Path) -> None:
    data = bytearray(_our_store(path))
    page = 4096
    path.write_bytes(data)
    c = sqlite3.connect(path)
    root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ratings_by_rater'"
                     ).fetchone()[0]
    c.close()
    start = (root - 1) * page + 8                    # after a leaf page's 8-byte header
    data[start:start + 32] = np.random.default_rng(0).bytes(32)     # the cell pointers
    path.write_bytes(bytes(data))


BAD_FILES = {
    "other app's table": (lambda p: _sqlite(p, "CREATE TABLE t (x)", "INSERT INTO t VALUES (1)"),
                          "some other application"),
    "other app's view": (lambda p: _sqlite(p, "CREATE VIEW v AS SELECT 1"),
                         "some other application"),
    "other app, WAL mode": (lambda p: _sqlite(p, "PRAGMA journal_mode=WAL", "CREATE TABLE t (x)"),
                            "some other application"),
    "version 1, no tables": (lambda p: _sqlite(p, "CREATE TABLE t (x)", "PRAGMA user_version=1"),
                             "has no table plans"),
    "newer schema": (lambda p: _sqlite(p, "PRAGMA user_version=99"), "schema version 99"),
    "text": (lambda p: p.write_text("name,group\n" * 200), "not a SQLite database"),
    "random bytes": (lambda p: p.write_bytes(np.random.default_rng(0).bytes(8192)),
                     "not a SQLite database"),
    "zeros": (lambda p: p.write_bytes(bytes(4096)), "not a SQLite database"),
    "html": (lambda p: p.write_text("<html><body>ratings</body></html>"), "not a SQLite"),
    "truncated store": (lambda p: p.write_bytes(_our_store(p)[:3 * 4096]), "corrupted"),
    "corrupted index page": (_corrupt_index, "corrupted"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_that_is_not_a_sound_store_is_refused_unchanged(tmp_path, case):
    make, message = BAD_FILES[case]
    path = tmp_path / "ratings.sqlite"
    make(path)
    before = files(tmp_path)
    with pytest.raises(RatingError, match=message) as err:
        RatingsStore(path)
    assert str(path) in str(err.value)
    assert files(tmp_path) == before                  # not a byte changed, nothing added
    if message == "corrupted":
        assert "backup" in str(err.value)


def test_a_folder_as_the_store_is_refused(tmp_path):
    (tmp_path / "r.sqlite").mkdir()
    with pytest.raises(RatingError, match="cannot open"):
        RatingsStore(tmp_path / "r.sqlite")
    assert files(tmp_path) == {"r.sqlite": ("dir",)}


# ============================================================================ read-only
def _main_files(folder: Path) -> dict[str, tuple]:
    """files(), less the empty -wal and the -shm index SQLite creates for any WAL reader."""
    out = files(folder)
    for name in [n for n in out if n.endswith(("-wal", "-shm"))]:
        assert name.endswith("-shm") or (folder / name).stat().st_size == 0, "WAL written"
        del out[name]
    return out


@pytest.mark.parametrize("write", ["rate", "skip", "undo", "add_plan"])
def test_readonly_store_reads_and_refuses_writes(rated, tmp_path, write):
    rated.close()
    before = _main_files(tmp_path)
    with RatingsStore(rated.path, readonly=True) as ro:
        assert len(ro.ratings()) == 4 and ro.raters() == ["José", "bob"]
        assert ro.add_plan(small_plan()).name == "nes"              # already stored: fine
        call = {"rate": lambda: ro.rate("nes", 3, [0.5, 0.5], rater="ada"),
                "skip": lambda: ro.skip("nes", 3, rater="ada"),
                "undo": lambda: ro.undo(rater="bob"),
                "add_plan": lambda: ro.add_plan(small_plan("new"))}[write]
        with pytest.raises(RatingError, match="read-only"):
            call()
        assert _main_files(tmp_path) == before
        out = tmp_path.parent / f"{tmp_path.name}-export.csv"
        ro.to_csv(out)
        assert len(out.read_text().splitlines()) == 5
        out.unlink()
    assert _main_files(tmp_path) == before


@pytest.mark.parametrize("case, message", [("missing", "no ratings store"),
                                           ("empty", "empty SQLite file"),
                                           ("foreign", "some other application")])
def test_readonly_open_of_no_store_is_refused(tmp_path, case, message):
    path = tmp_path / "r.sqlite"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "foreign":
        _sqlite(path, "CREATE TABLE t (x)")
    before = files(tmp_path)
    with pytest.raises(RatingError, match=message):
        RatingsStore(path, readonly=True)
    assert files(tmp_path) == before


UNPRIVILEGED = r"""
import sys
from hd_widgets.ratings.store import RatingError, RatingsStore
path, out = sys.argv[1], sys.argv[2]
try:
    RatingsStore(path)
    print("opened for writing?!")
except RatingError as exc:
    print("refused:", exc)
with RatingsStore(path, readonly=True) as s:
    s.to_csv(out)
    print("rows:", len(s.ratings()))
    try:
        s.rate("nes", 5, [0.5, 0.5], rater="x")
    except RatingError as exc:
        print("write refused:", exc)
"""


def _as_unprivileged() -> list[str] | None:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    return None if setpriv is None else [setpriv, "--reuid=65534", "--regid=65534",
                                         "--clear-groups"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize("leftover_wal", [False, True])
def test_store_in_a_folder_you_cannot_write(tmp_path_factory, leftover_wal):
    """Really unwritable (another user's folder): open refuses with a hint; readonly
    works, also with a -wal left by a crash (read from a private snapshot)."""
    prefix = _as_unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: cannot drop privileges")
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="hd-ro-"))       # outside root's 0700 pytest folder
    try:
        folder, out = base / "class", base / "out"
        folder.mkdir()
        out.mkdir()
        s = RatingsStore(folder / "r.sqlite")
        s.add_plan(small_plan())
        s.rate("nes", 0, [0.5, 0.5], rater="ada")
        if leftover_wal:                                  # a crashed kernel's -wal
            s._db._conn.execute("PRAGMA wal_autocheckpoint=0")
            s.rate("nes", 1, [0.5, 0.5], rater="ada")
            shutil.copy(folder / "r.sqlite", base / "main")
            shutil.copy(f"{folder}/r.sqlite-wal", base / "wal")
        s.close()
        if leftover_wal:
            shutil.copy(base / "main", folder / "r.sqlite")
            shutil.copy(base / "wal", f"{folder}/r.sqlite-wal")
        os.chmod(base, 0o755)
        os.chmod(folder, 0o555 if prefix == [] else 0o755)
        os.chmod(out, 0o777)
        before = files(folder)
        root = Path(__file__).resolve().parents[1]
        run = subprocess.run(prefix + [sys.executable, "-c", UNPRIVILEGED,
                                       str(folder / "r.sqlite"), str(out / "x.csv")],
                             capture_output=True, text=True, timeout=60, cwd=base,
                             env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(root))})
        assert run.returncode == 0, run.stderr[-3000:]
        assert "refused:" in run.stdout and "readonly=True" in run.stdout
        assert f"rows: {4 if leftover_wal else 2}" in run.stdout
        assert "write refused:" in run.stdout and "read-only" in run.stdout
        assert files(folder) == before
    finally:
        os.chmod(base / "class", 0o755)
        shutil.rmtree(base, ignore_errors=True)


# ============================================================================ corpus folders
def harmonic(f0: float, seconds: float = 1.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 20) if k * f0 < SR / 2)
    return amp * x / np.abs(x).max()


@pytest.fixture
def voices(tmp_path):
    folder = tmp_path / "voices"
    folder.mkdir()
    for f0 in (110, 180, 260):
        sf.write(folder / f"v{f0}.wav", harmonic(f0), SR)
    return folder


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _socket(p: Path) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(p))
    s.close()


BAD_FOLDERS = {
    "dangling symlink": ("gone.wav", lambda p: p.symlink_to(p.with_name("nowhere.wav")),
                         "dangling symlink"),
    "fifo": ("pipe.wav", _fifo, "FIFO"),
    "socket": ("sock.flac", _socket, "socket"),
    "fifo labels": ("labels.csv", _fifo, "FIFO"),
    "dangling labels": ("labels.csv", lambda p: p.symlink_to("nowhere.csv"), "dangling"),
    "latin-1 labels": ("labels.csv", lambda p: p.write_bytes("file,group\nv110.wav,Männer\n"
                                                             .encode("latin-1")), "UTF-8"),
    "labels missing a cell": ("labels.csv", lambda p: p.write_text("file,group\nv110.wav\n"),
                              "line 2"),
    "labels contradicting": ("labels.csv", lambda p: p.write_text(
        "file,group\nv110.wav,low\nv110.wav,high\n"), "listed again"),
    "labels without columns": ("labels.csv", lambda p: p.write_text("name;kind\nx;y\n"),
                               "needs columns"),
    "labels is a folder": ("labels.csv", lambda p: p.mkdir(), "folder"),
    "empty clip": ("empty.wav", lambda p: sf.write(p, np.zeros(0), SR), "empty"),
    "one sample": ("one.wav", lambda p: sf.write(p, np.array([0.5]), SR), "too short"),
    "clipped": ("loud.wav", lambda p: sf.write(p, np.sign(harmonic(150)), SR), "clipped"),
    "huge values": ("huge.wav", lambda p: sf.write(p, harmonic(150) * 1e30, SR,
                                                   subtype="FLOAT"), "beyond full scale"),
    "infinite sample": ("inf.wav", lambda p: sf.write(p, np.r_[harmonic(150)[:-1], np.inf], SR,
                                                      subtype="FLOAT"), "infinite"),
    "an hour long": ("long.flac", lambda p: sf.write(p, np.tile(harmonic(150, 1.0, 0.1), 61),
                                                     SR), "too long"),
    "text as audio": ("notes.flac", lambda p: p.write_text("not audio"), "unreadable"),
}


def _with_deadline(fn, fifos: list[Path], seconds: float = 20.0):
    """Run ``fn``; fail (and unblock it) if it hangs, as reading a FIFO would."""
    result: dict = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            result["error"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        for f in fifos:                                    # let the blocked open() return
            os.close(os.open(f, os.O_WRONLY | os.O_NONBLOCK))
        t.join(5)
        pytest.fail("reading the corpus hung (a FIFO was opened)")
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_bad_corpus_entries_raise_naming_the_file(voices, case):
    name, make, reason = BAD_FOLDERS[case]
    make(voices / name)
    before = files(voices)
    fifos = [voices / name] if "fifo" in case else []
    with pytest.raises(CorpusError) as err:
        _with_deadline(lambda: Corpus.from_folder(voices), fifos)
    assert name in str(err.value) and reason in str(err.value)
    if name != "labels.csv":                           # errors="skip" lists it, keeps the rest
        corpus = _with_deadline(lambda: Corpus.from_folder(voices, errors="skip"), fifos)
        assert len(corpus) == 3 and corpus.skipped[0][0] == name
    assert files(voices) == before


def test_read_audio_refuses_a_fifo_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "x.wav")
    with pytest.raises(CorpusError, match="FIFO"):
        _with_deadline(lambda: read_audio(tmp_path / "x.wav"), [tmp_path / "x.wav"])


def test_labels_with_a_byte_order_mark_are_read(voices):
    (voices / "labels.csv").write_bytes("\ufefffile,group\nv110.wav,low\nv180.wav,high\n"
                                        .encode("utf-8"))
    corpus = Corpus.from_folder(voices)
    assert list(corpus.groups) == ["low", "high", ""]


@pytest.mark.parametrize("kwargs", [dict(sample_rate=0), dict(sample_rate=-16000),
                                    dict(sample_rate=16000.5), dict(sample_rate="16000"),
                                    dict(sample_rate=True), dict(sample_rate=None),
                                    dict(sample_rate=10 ** 9), dict(sample_rate=100),
                                    dict(min_seconds=math.nan), dict(min_seconds=-1.0),
                                    dict(min_seconds="0.3")])
def test_bad_corpus_settings_raise_value_error(voices, kwargs):
    before = files(voices)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Corpus.from_folder(voices, **kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        read_audio(voices / "v110.wav", **kwargs)
    assert files(voices) == before


# ============================================================================ saved spaces
def tiny_analysis(n: int = 6, F: int = 513) -> CorpusAnalysis:
    """A made-up analysis (no WORLD analysis needed): smooth envelopes around a vowel."""
    rng = np.random.default_rng(0)
    freq = np.linspace(0, 1, F)
    base = -4 - 8 * freq + 2 * np.exp(-((freq - 0.1) / 0.05) ** 2)
    features = base + 0.3 * np.cumsum(rng.standard_normal((n, F)), axis=1) / np.sqrt(F)
    return CorpusAnalysis([f"v{i}.wav" for i in range(n)], np.array(["a", "b"] * (n // 2)),
                          features, np.full((n, 200), 120.0), np.full((n, 200, F), 0.05),
                          np.full(n, -20.0), SR)


@pytest.fixture(scope="module")
def tiny_space() -> FeatureSpace:
    return FeatureSpace.fit(tiny_analysis(), d=2)


def _rewrite(path: Path, meta: dict | None = None, arrays: dict | None = None,
             drop: str | None = None) -> None:
    with np.load(path, allow_pickle=False) as z:
        content = {k: z[k] for k in z.files}
    m = json.loads(str(content["meta"]))
    m.update(meta or {})
    content["meta"] = np.array(json.dumps(m))
    content.update(arrays or {})
    content.pop(drop, None)
    with open(path, "wb") as fh:
        np.savez(fh, **content)


def _torch_file(path: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.save({"format": "hd_widgets.ScoreNet/1", "state_dict": {"w": torch.zeros(3)}}, path)


def _nan(a):
    a = np.array(a, dtype=np.float64)
    a.flat[0] = np.nan
    return a


SAVED = {
    "truncated to half": lambda p, s: p.write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2]),
    "truncated to 100 bytes": lambda p, s: p.write_bytes(p.read_bytes()[:100]),
    "empty file": lambda p, s: p.write_bytes(b""),
    "text file": lambda p, s: p.write_text("d=2, gain=1\n"),
    "random npz": lambda p, s: np.savez(p, a=np.arange(3)),
    "single npy": lambda p, s: np.save(p, np.arange(3)) or os.replace(f"{p}.npy", p),
    "score network file": lambda p, s: _torch_file(p),
    "pickled object array": lambda p, s: _rewrite(p, arrays={"mean": np.array([{}], dtype=object)}),
    "meta not json": lambda p, s: _rewrite(p, arrays={"meta": np.array("{d: 2")}),
    "meta a number": lambda p, s: _rewrite(p, arrays={"meta": np.array(3.0)}),
    "meta a json list": lambda p, s: _rewrite(p, arrays={"meta": np.array("[1, 2]")}),
    "format 2": lambda p, s: _rewrite(p, {"format": 2}),
    "no format": lambda p, s: _rewrite(p, {"format": None}),
    "fractional d": lambda p, s: _rewrite(p, {"d": 2.5}),
    "d zero": lambda p, s: _rewrite(p, {"d": 0}),
    "d too big": lambda p, s: _rewrite(p, {"d": 99}),
    "d a string": lambda p, s: _rewrite(p, {"d": "2"}),
    "d a bool": lambda p, s: _rewrite(p, {"d": True}),
    "nan gain": lambda p, s: _rewrite(p, {"gain": math.nan}),
    "infinite gain": lambda p, s: _rewrite(p, {"gain": math.inf}),
    "negative gain": lambda p, s: _rewrite(p, {"gain": -1.0}),
    "zero gain": lambda p, s: _rewrite(p, {"gain": 0.0}),
    "gain a string": lambda p, s: _rewrite(p, {"gain": "1"}),
    "log range reversed": lambda p, s: _rewrite(p, {"log_range": s.log_range[::-1]}),
    "log range nan": lambda p, s: _rewrite(p, {"log_range": [math.nan, 1.0]}),
    "log range of three": lambda p, s: _rewrite(p, {"log_range": [0, 1, 2]}),
    "sample rate zero": lambda p, s: _rewrite(p, {"sample_rate": 0}),
    "reference out of range": lambda p, s: _rewrite(p, {"reference": 99}),
    "reference negative": lambda p, s: _rewrite(p, {"reference": -1}),
    "names too few": lambda p, s: _rewrite(p, {"names": s.names[:-1]}),
    "names not strings": lambda p, s: _rewrite(p, {"names": list(range(len(s.names)))}),
    "nan level target": lambda p, s: _rewrite(p, {"level_target_db": math.nan}),
    "mean of wrong shape": lambda p, s: _rewrite(p, arrays={"mean": s.mean[:-1]}),
    "components 1-D": lambda p, s: _rewrite(p, arrays={"components": s.components[0]}),
    "nan scale": lambda p, s: _rewrite(p, arrays={"scale": _nan(s.scale)}),
    "zero scale": lambda p, s: _rewrite(p, arrays={"scale": 0 * s.scale}),
    "scores of wrong shape": lambda p, s: _rewrite(p, arrays={"scores": s.scores.T}),
    "nan f0": lambda p, s: _rewrite(p, arrays={"ref_f0": _nan(s.ref_f0)}),
    "aperiodicity of wrong shape": lambda p, s: _rewrite(p, arrays={"ref_ap": s.ref_ap[:, :9]}),
    "infinite aperiodicity": lambda p, s: _rewrite(p, arrays={"ref_ap": s.ref_ap * np.inf}),
    "explained of wrong shape": lambda p, s: _rewrite(p, arrays={"explained": s.explained[:1]}),
    "numeric groups": lambda p, s: _rewrite(p, arrays={"groups": np.arange(len(s.names))}),
    "no aperiodicity": lambda p, s: _rewrite(p, drop="ref_ap"),
}


@pytest.mark.parametrize("case", list(SAVED))
def test_damaged_or_foreign_saved_space_is_refused(tiny_space, tmp_path, case):
    path = tiny_space.save(tmp_path / "space.npz")
    SAVED[case](path, tiny_space)
    before = files(tmp_path)
    with pytest.raises(ValueError, match="not a valid saved FeatureSpace") as err:
        FeatureSpace.load(path)
    assert str(path) in str(err.value)
    assert files(tmp_path) == before


def test_saved_space_still_loads(tiny_space, tmp_path):
    back = FeatureSpace.load(tiny_space.save(tmp_path / "space.npz"))
    assert repr(back) == repr(tiny_space) and back.render_wav([1.0, 2.0]) == \
        tiny_space.render_wav([1.0, 2.0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(d=2.5), "d must be an int"), (dict(d=0), "d must be an int"),
    (dict(d=True), "d must be an int"), (dict(d="2"), "d must be an int"),
    (dict(d=6), "d must be an int"), (dict(level_db=math.nan), "level_db"),
    (dict(level_db=math.inf), "level_db"), (dict(level_db=6.0), "level_db"),
    (dict(level_db="loud"), "level_db"), (dict(reference="nobody"), "reference"),
    (dict(reference=99), "reference"), (dict(reference=True), "reference"),
])
def test_bad_fit_settings_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FeatureSpace.fit(tiny_analysis(), **{"d": 2, **kwargs})


# ---------------------------------------------------------------------- the engine
# (the defect: one NaN row of data trained a network of NaN weights, silently)
def _rated_plan(n_data: int = 12, seed: int = 0):
    from hd_widgets.method.pairs import PairRatings
    from hd_widgets.ratings.budget import plan_for_budget
    from hd_widgets.ratings.listeners import SimulatedListener
    data = np.random.default_rng(seed).normal(size=(n_data, 2))
    plan = plan_for_budget(data, 80, seed=seed)
    return data, plan, PairRatings.from_listener(SimulatedListener.from_data(data, seed=0), plan)


@pytest.mark.parametrize("row, value", [(0, math.nan), (3, math.inf), (11, -math.inf)])
def test_non_finite_data_is_refused_before_any_training(row, value):
    from hd_widgets.method.estimation import from_plan
    data, plan, pairs = _rated_plan()
    data[row, 1] = value
    with pytest.raises(ValueError, match=rf"data has 1 row\(s\) with NaN or infinite values \(first: row {row}\)"):
        from_plan(plan, pairs, data)


def test_non_finite_data_from_a_store_is_refused_and_the_store_unchanged(store):
    from hd_widgets.method.estimation import from_store
    from hd_widgets.ratings.answering import answer
    from hd_widgets.ratings.listeners import SimulatedListener
    data, plan, _ = _rated_plan()
    store.add_plan(plan)
    answer(SimulatedListener.from_data(data, seed=0), store, plan.name, limit=10)
    before = len(store.ratings())
    bad = data.copy()
    bad[2, 0] = math.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        from_store(store, plan.name, bad)
    assert len(store.ratings()) == before


def test_a_target_that_is_not_finite_never_reaches_the_network():
    from dataclasses import replace
    from hd_widgets.method.estimation import from_plan
    from hd_widgets.method.training import train
    data, plan, pairs = _rated_plan()
    est = from_plan(plan, pairs, data)
    target = est.target.copy()
    target[0, 0] = math.nan
    with pytest.raises(ValueError, match="target holds NaN or infinite values"):
        train(replace(est, target=target), progress=False)


@pytest.mark.parametrize("n_data", [5, 30])
def test_data_of_another_size_than_the_plan_is_refused(n_data):
    from hd_widgets.method.estimation import from_plan
    data, plan, pairs = _rated_plan()
    other = np.random.default_rng(1).normal(size=(n_data, 2))
    with pytest.raises(ValueError, match="made around 12 data points, but data has"):
        from_plan(plan, pairs, other)


class _Mute:
    name = "mute"

    def rate(self, points):
        return np.full(len(points) - 1, 0.5)        # one rating short


def test_a_listener_that_returns_the_wrong_number_of_ratings_is_refused(store):
    from hd_widgets.method.pairs import PairRatings
    from hd_widgets.ratings.answering import answer
    data, plan, _ = _rated_plan()
    store.add_plan(plan)
    with pytest.raises(ValueError, match="returned 1 ratings for a page of 2 clips"):
        answer(_Mute(), store, plan.name)
    assert store.ratings() == []
    with pytest.raises(ValueError, match=r"returned \d+ ratings for \d+ clips"):
        PairRatings.from_listener(_Mute(), plan)


@pytest.mark.parametrize("kwargs", [dict(lam=math.nan), dict(lam=-1.0), dict(eps=math.nan),
                                    dict(eps=0.0), dict(reg_gate=math.inf),
                                    dict(noise_sd=math.nan), dict(noise_sd=0.0), dict(lam="4")])
def test_bad_estimate_options_are_refused(kwargs):
    from hd_widgets.method.estimation import EstimateOptions
    with pytest.raises(ValueError):
        EstimateOptions(**kwargs)


def test_a_network_from_a_handful_of_ratings_warns():
    from hd_widgets.method.estimation import from_plan
    from hd_widgets.method.pairs import PairRatings
    from hd_widgets.method.training import train
    data, plan, pairs = _rated_plan()
    few = PairRatings(pairs.periphery[:2], pairs.pair[:2], pairs.plus[:2], pairs.minus[:2])
    est = from_plan(plan, few, data)
    from hd_widgets.method.ensemble import train_ensemble
    # each way in names the caller's own line, however deep the package's training loop
    for fit in (lambda: train(est, progress=False),
                lambda: train_ensemble(est, 2, progress=False)):
        with pytest.warns(UserWarning, match="from only 2 rated pair") as caught:
            fit()
        assert [Path(w.filename).name for w in caught] == [Path(__file__).name]


@pytest.mark.parametrize("kwargs, message", [
    (dict(budget=10), "too small for 3 rounds"), (dict(budget=59), "too small for 3 rounds"),
    (dict(shares=(0.5, 0.0)), "shares must be positive"), (dict(budget=2.5), "whole number"),
    (dict(final_networks=0), "final_networks"), (dict(particles=0), "particles"),
])
def test_bad_study_settings_are_refused(kwargs, message):
    from hd_widgets.study.rounds import RoundsConfig
    with pytest.raises(ValueError, match=message):
        RoundsConfig(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(budget=10 ** 9), "between 40 and 200,000"), (dict(budget=39), "between 40"),
    (dict(rounds=3, budget=60), "too small for 3 rounds"), (dict(rounds=0), "rounds"),
    (dict(steps=10 ** 7), "steps"), (dict(particles=1), "particles"),
    (dict(alpha=math.nan), "alpha"), (dict(listener="robot"), "unknown listener"),
])
def test_bad_reproduction_settings_are_refused_before_any_work(kwargs, message):
    from hd_widgets.study.config import ReproduceConfig
    with pytest.raises(ValueError, match=message):
        ReproduceConfig(**kwargs)
