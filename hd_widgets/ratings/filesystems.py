"""Is a path on a network file system? (The ratings store refuses those.)

SQLite's write-ahead log needs POSIX locks and a shared-memory file that every writer
maps; NFS, SMB/CIFS, sshfs and similar network file systems do not reliably give
either, and the failure is silent corruption, not an error. A class sharing one store
must therefore keep it on a local disk of the machine the notebook servers run on.
Linux reports each mount's type in ``/proc/mounts``; elsewhere nothing is checked.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["NETWORK_TYPES", "network_filesystem"]

NETWORK_TYPES = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "ceph", "glusterfs",
                 "lustre", "9p", "fuse.sshfs", "fuse.glusterfs", "fuse.s3fs", "fuse.gcsfuse")


def _unescape(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash in paths as octal escapes
    (\\040 ...); every other character, non-ASCII included, is written as it is."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def network_filesystem(path: str | os.PathLike, mounts: str | None = None) -> str | None:
    """The network file-system type ``path`` lives on, or None for a local one.

    ``mounts`` is the text of ``/proc/mounts`` (read when None; None is returned where
    it does not exist). The deepest mount point containing the path decides.
    """
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return None
    target = Path(os.path.abspath(Path(path).expanduser()))
    best, best_type = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point, fstype = _unescape(fields[1]), fields[2]
        inside = target == Path(point) or Path(point) in target.parents
        if inside and len(point) >= len(best):
            best, best_type = point, fstype
    return best_type if best_type in NETWORK_TYPES else None
