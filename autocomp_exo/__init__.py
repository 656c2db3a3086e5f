"""autocomp-exo: make Exo-generated Gemmini code fast by plan-then-implement search.

Public surface::

    optimize(proc, ...)          -> OptimizeResult   beam search over rewrites
    evaluate(proc_or_code, ...)  -> Evaluation       model report + reference check
    map_to_gemmini(proc)         -> proc             Exo's basic Gemmini mapping
    gemm_algorithm(M, N, K)      -> proc             the bundled GEMM algorithm (also conv_algorithm)
    reuse_schedule(proc, recipe) -> OptimizeResult   replay a recorded schedule recipe
    compile_procs(procs, dir, c, h)                  Exo's compile_procs with tuned code

Names are imported lazily so that ``import autocomp_exo`` stays cheap (Exo and
the model load on first use).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "optimize": "autocomp_exo.optimizer",
    "OptimizeResult": "autocomp_exo.optimizer",
    "Budget": "autocomp_exo.optimizer",
    "reuse_schedule": "autocomp_exo.optimizer",
    "compile_procs": "autocomp_exo.build",
    "evaluate": "autocomp_exo.evaluation",
    "Evaluation": "autocomp_exo.evaluation",
    "map_to_gemmini": "lowering.mapping",
    "gemm_algorithm": "lowering.suite",
    "conv_algorithm": "lowering.suite",
    "Workload": "lowering.workload",
    "Settings": "autocomp_exo.settings",
    "load_settings": "autocomp_exo.settings",
    "GemminiConfig": "gemmini.config",
    "get_config": "gemmini.config",
    "parse_c": "lowering.parser",
    "to_compact": "lowering.print_compact",
    "to_toolchain_c": "lowering.print_toolchain",
    "AutocompError": "gemmini.errors",
    "ParseError": "gemmini.errors",
    "HardwareError": "gemmini.errors",
    "CheckError": "gemmini.errors",
    "ConfigError": "gemmini.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'autocomp_exo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
