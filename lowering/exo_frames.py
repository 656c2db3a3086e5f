"""Make Exo's frame inspection affordable.

Exo calls ``inspect.stack()`` at every ``@proc`` definition and at every pattern match of
a scheduling operation. For each frame, ``inspect`` looks up the module of the frame's
file; frames of frozen modules (``<frozen importlib._bootstrap>``, present whenever
code runs during an import) have no file on disk, so each lookup scans all of
``sys.modules``. Mapping one GEMM with edge tiles made tens of thousands of such scans
(half of its time). `register_frozen_modules` records the module of each frozen
module's pseudo file name in ``inspect``'s own file-to-module cache, which is what the
scan would have found; nothing else changes.
"""

from __future__ import annotations

import inspect
import sys


def register_frozen_modules() -> None:
    """Add ``<frozen NAME>`` -> ``NAME`` to ``inspect.modulesbyfile`` for every frozen
    module loaded (idempotent)."""
    for name, module in list(sys.modules.items()):
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.origin == "frozen":
            inspect.modulesbyfile.setdefault(f"<frozen {name}>", name)
