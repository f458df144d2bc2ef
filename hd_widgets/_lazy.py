"""Names of a package that load on first use (PEP 562), so importing a stage stays light.

Each stage's ``__init__`` lists its public names and the module that defines each;
``import hd_widgets.method`` then imports no torch until a name of it is used, and
``hd_widgets.study.config`` can be read by the command line without pulling in the engine.
"""
from __future__ import annotations

import importlib
from typing import Callable


def lazy_names(package: str, names: dict[str, str]) -> tuple[Callable, Callable, list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    ``names`` maps each public name to the module (relative to ``package``) defining it.
    """
    public = sorted(names)

    def __getattr__(name: str):
        if name in names:
            value = getattr(importlib.import_module(f".{names[name]}", package), name)
            setattr(importlib.import_module(package), name, value)   # next lookup is direct
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return public

    return __getattr__, __dir__, public
