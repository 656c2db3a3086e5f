"""Exo proc -> C text, with a disk cache.

Exo's code generation (and, much more, the scheduling that produces a mapped
proc) is slow for big kernels, so results are cached on disk under
``<cache root>/exo_c/`` (`lowering.cache.cache_root`), keyed by a hash of the
proc's printed text and the Exo version.

* ``compile_proc(proc) -> ExoC(name, c_text, h_text)``
* ``mapped_c(workload_or_algorithm) -> ExoC``: the C of ``map_to_gemmini`` of an
  algorithm proc, cached by the algorithm's text and `MAPPING_VERSION` so that the
  (slow) mapping runs once per machine.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import exo

from lowering.cache import cache_root, write_atomic

CACHE_FORMAT = 1


@dataclass(frozen=True)
class ExoC:
    """Exo's generated code for one proc: function name, .c text and .h text."""
    name: str
    c_text: str
    h_text: str

    @property
    def header_name(self) -> str:
        return header_name(self.name)


def header_name(proc_name: str) -> str:
    """Header Exo is told to include: ``gemm_512x512x512`` -> ``gemm.h``.

    Exo names its context struct after the header (``gemm_Context``), so this
    reproduces the signature of Exo's own Gemmini examples.
    """
    stem = proc_name.split("_")[0] or proc_name
    return f"{stem}.h"


def _cache_file(kind: str, key_text: str) -> Path:
    digest = hashlib.sha256(
        f"{CACHE_FORMAT}\n{exo.__version__}\n{kind}\n{key_text}".encode()).hexdigest()
    return cache_root() / "exo_c" / f"{kind}-{digest[:40]}.json"


def load_cached(path: Path) -> ExoC | None:
    """The `ExoC` stored at ``path`` by `store_cached`, or None if missing or unreadable."""
    try:
        data = json.loads(path.read_text())
        return ExoC(data["name"], data["c_text"], data["h_text"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_cached(path: Path, result: ExoC) -> None:
    """Store ``result`` at ``path`` atomically; a cache that cannot be written is only slower."""
    try:
        write_atomic(path, json.dumps({"name": result.name, "c_text": result.c_text,
                                       "h_text": result.h_text}))
    except OSError:
        pass


def _compile_uncached(proc) -> ExoC:
    name = proc.name()
    c_text, h_text = exo.compile_procs_to_strings([proc], header_name(name))
    return ExoC(name, c_text, h_text)


def compile_proc(proc, *, use_cache: bool = True) -> ExoC:
    """Exo's C for ``proc`` (``compile_procs_to_strings``), disk-cached by its text."""
    if not use_cache:
        return _compile_uncached(proc)
    path = _cache_file("proc", str(proc))
    cached = load_cached(path)
    if cached is not None:
        return cached
    result = _compile_uncached(proc)
    store_cached(path, result)
    return result


def mapped_c(workload_or_proc, *, use_cache: bool = True) -> ExoC:
    """C of the basic Gemmini mapping of a workload (or algorithm proc), disk-cached.

    The key is the algorithm's printed text plus the mapping version, so a cache
    hit skips the slow Exo scheduling entirely.
    """
    from lowering.mapping import MAPPING_VERSION, map_to_gemmini

    algorithm = getattr(workload_or_proc, "algorithm", workload_or_proc)
    if callable(algorithm) and not hasattr(algorithm, "name"):
        algorithm = algorithm()
    key = f"mapping {MAPPING_VERSION}\n{algorithm}"
    path = _cache_file("mapped", key)
    if use_cache:
        cached = load_cached(path)
        if cached is not None:
            return cached
    result = _compile_uncached(map_to_gemmini(algorithm))
    if use_cache:
        store_cached(path, result)
    return result
