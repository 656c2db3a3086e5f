"""The project's one disk cache root and atomic writes into it.

Every cache lives in its own subfolder of `cache_root()`: ``exo_c`` (Exo's C),
``exo_hand`` (hand schedules), ``reflib`` (reference libraries), ``emulator``
(emulator builds), ``count`` (instruction-counting programs).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE_ENV = "AUTOCOMP_EXO_CACHE"


def cache_root() -> Path:
    """``$AUTOCOMP_EXO_CACHE``, else ``$XDG_CACHE_HOME/autocomp-exo``, else ``~/.cache/autocomp-exo``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "autocomp-exo"
    return Path("~/.cache/autocomp-exo").expanduser()


def cache_dir(name: str) -> Path:
    """The subfolder ``name`` of the cache root, created if missing."""
    path = cache_root() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``path`` so that other processes see either no file or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
