"""Where a ratings store lives: a SQLite file (a path) or a PostgreSQL server (a URL).

``RatingsStore("ratings/class.sqlite")`` and ``RatingsStore("sqlite:///ratings/class.sqlite")``
open the same file; ``RatingsStore("postgresql+psycopg://teacher:pw@db:5432/class")`` a
server. ``postgresql://`` and ``postgres://`` (as hosting services print them) mean the
same psycopg 3 driver; no other database or driver is supported.

A URL's password never leaves this module in clear: :func:`masked` is what every message,
``repr`` and log line shows (SQLAlchemy's ``render_as_string(hide_password=True)``).
"""
from __future__ import annotations

import os
from pathlib import Path
import re

from .schema import RatingError

__all__ = ["STORE_ENV", "is_url", "locate", "masked"]

STORE_ENV = "HD_WIDGETS_STORE"           # the class's store, set once by the teacher
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_SECRET = re.compile(r"(://[^/@:]*:)[^@/]*@")


def is_url(location: object) -> bool:
    """True for ``scheme://...`` text; paths (str or PathLike) are not URLs."""
    return isinstance(location, str) and bool(_SCHEME.match(location))


def masked(location: object) -> str:
    """``location`` as it may be shown: a URL with its password as ``***``."""
    if not is_url(location):
        return str(location)
    try:
        from sqlalchemy.engine import make_url
        return make_url(location).render_as_string(hide_password=True)
    except Exception:            # noqa: BLE001 - unparsable: mask by pattern, never echo
        return _SECRET.sub(r"\1***@", str(location))


def locate(location: str | os.PathLike):
    """``("sqlite", Path)`` or ``("postgresql", sqlalchemy URL)`` for a store location.

    Raises
    ------
    RatingError
        for a URL that does not parse, names another database, or is an in-memory SQLite.
    """
    if not is_url(location):
        if not isinstance(location, (str, os.PathLike)):
            raise RatingError(f"a store location is a path or a database URL, got "
                              f"{type(location).__name__}")
        return "sqlite", Path(location).expanduser()
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        url = make_url(location)
    except (ArgumentError, ValueError):
        raise RatingError(f"{masked(location)} is not a database URL that SQLAlchemy can read; "
                          "write postgresql+psycopg://user:password@host:port/database") from None
    backend, _, driver = url.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if not url.database or url.database == ":memory:":
            raise RatingError(f"{masked(location)}: a ratings store must be a file (write "
                              "sqlite:///path/to/ratings.sqlite)")
        return "sqlite", Path(url.database).expanduser()
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return "postgresql", url.set(drivername="postgresql+psycopg")
    raise RatingError(f"{masked(location)}: the ratings store runs on SQLite files "
                      "(a path or sqlite:///path) or PostgreSQL through psycopg 3 "
                      f"(postgresql+psycopg://...), not on {url.drivername}")
