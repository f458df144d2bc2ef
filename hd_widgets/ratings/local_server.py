"""A throwaway PostgreSQL server in a temporary folder: for the tests, the classroom
benchmark, ``./dev test``, and a teacher trying a server store on one machine.

It uses the machine's PostgreSQL binaries (Debian's ``postgresql`` package puts them in
``/usr/lib/postgresql/<version>/bin``). ``initdb`` refuses to run as root, so as root the
cluster is made and run by the ``postgres`` user (``runuser``), in a folder it owns under
the system's temporary directory. Logins over TCP need a password (scram-sha-256); the
superuser's is random and only in :attr:`LocalServer.url`.

Command line (what ``./dev test`` runs)::

    python -m hd_widgets.ratings.local_server start FOLDER   # prints the superuser's URL
    python -m hd_widgets.ratings.local_server stop FOLDER    # stops it and removes FOLDER

A server outlives no one: a small watchdog process stops it (and removes its folder) once
the process it serves is gone, even one killed with SIGKILL (``start`` from Python: that
process; from the command line: the shell that ran it).
"""
from __future__ import annotations

from dataclasses import dataclass
import glob
import json
import os
from pathlib import Path
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time

__all__ = ["LocalServer", "postgres_bin", "ServerError"]


class ServerError(RuntimeError):
    """The local server could not be made, started or stopped (the message says why)."""


def postgres_bin() -> Path:
    """The folder of ``initdb`` and ``pg_ctl`` (newest version installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    raise ServerError("PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql "
                      "(./dev test does it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServerError("running as root without runuser: cannot start PostgreSQL as the "
                          "postgres user")
    return [runuser, "-u", "postgres", "--"]


@dataclass
class LocalServer:
    """A running cluster: ``folder`` (data, socket, log), ``port``, ``password``.

    Attributes
    ----------
    url : str
        ``postgresql+psycopg://postgres:<password>@127.0.0.1:<port>/postgres``.
    """

    folder: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @classmethod
    def start(cls, folder: str | os.PathLike | None = None, *, port: int | None = None,
              fsync: bool = True, max_connections: int = 200,
              owner: int | None = None) -> "LocalServer":
        """initdb a new cluster in ``folder`` (default: a fresh temporary folder) and start it.

        ``fsync=False`` is for tests that do not measure durability or speed. ``owner``:
        the process whose end stops the server (default: this one)."""
        bindir = postgres_bin()
        folder = Path(folder) if folder is not None else Path(
            tempfile.mkdtemp(prefix="hd_widgets-pg-"))
        folder.mkdir(parents=True, exist_ok=True)
        server = cls(folder, port or _free_port(), secrets.token_hex(16))
        prefix = _as_owner()
        if prefix:
            shutil.chown(folder, "postgres", "postgres")
        os.chmod(folder, 0o700)
        pwfile = folder / "pw"
        pwfile.write_text(server.password + "\n")
        if prefix:
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            server._run(prefix + [str(bindir / "initdb"), "-D", str(server.data), "-U", "postgres",
                                  "--auth-local=trust", "--auth-host=scram-sha-256",
                                  f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"],
                        "initdb")
        finally:
            pwfile.unlink(missing_ok=True)
        opts = [f"-p {server.port}", f"-k {folder}", "-c listen_addresses=127.0.0.1",
                f"-c max_connections={max_connections}"]
        if not fsync:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        (folder / "server.json").write_text(json.dumps(
            {"port": server.port, "options": " ".join(opts)}))
        server.resume()
        subprocess.Popen([sys.executable, "-m", "hd_widgets.ratings.local_server", "watch",
                          str(folder), str(owner or os.getpid())], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        return server

    @classmethod
    def attach(cls, folder: str | os.PathLike) -> "LocalServer":
        """The server started in ``folder`` (by :meth:`start`, maybe in another process)."""
        folder = Path(folder)
        info = json.loads((folder / "server.json").read_text())
        return cls(folder, int(info["port"]), "")

    def _run(self, cmd: list[str], what: str) -> None:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()[-5:]
            raise ServerError(f"{what} failed ({r.returncode}): {' | '.join(tail)}")

    def resume(self) -> None:
        """Start the (stopped) server again, on the same port."""
        options = json.loads((self.folder / "server.json").read_text())["options"]
        self._run(_as_owner() + [str(postgres_bin() / "pg_ctl"), "-D", str(self.data), "-o",
                                 options, "-l", str(self.folder / "server.log"), "-w", "-t", "60",
                                 "start"], "pg_ctl start")

    def pause(self) -> None:
        """Stop the server (fast shutdown: open connections are ended), keeping its data."""
        self._run(_as_owner() + [str(postgres_bin() / "pg_ctl"), "-D", str(self.data), "-m",
                                 "fast", "-w", "-t", "60", "stop"], "pg_ctl stop")

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                self.pause()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join((self.folder / "server.log").read_text().splitlines()[-n:])
        except OSError:
            return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:                                   # a zombie is gone too
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def watch(folder: str, pid: int) -> None:
    """Wait until process ``pid`` is gone (or the server was stopped), then stop it."""
    server = LocalServer.attach(folder)
    while _alive(pid) and server.folder.exists():
        time.sleep(1.0)
    if server.folder.exists():
        server.stop()


def main(argv: list[str]) -> int:
    if argv[:1] == ["watch"] and len(argv) == 3:
        watch(argv[1], int(argv[2]))
        return 0
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m hd_widgets.ratings.local_server start|stop FOLDER",
              file=sys.stderr)
        return 2
    try:
        if argv[0] == "start":
            print(LocalServer.start(argv[1], owner=os.getppid()).url)
        else:
            LocalServer.attach(argv[1]).stop()
    except (ServerError, OSError, ValueError) as exc:
        print(f"local PostgreSQL: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
