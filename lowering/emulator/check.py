"""Check a kernel on the host emulator against a workload's reference input sets.

The kernel's C (trusted: Exo's output or our toolchain printer's) is built once for the
workload's Gemmini configuration and run on every input set; the comparison is
`lowering.reference.check_sets` (bit for bit, or the fp32 tolerance where the set
records magnitudes), so the result says which rule it applied.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from gemmini.config import GemminiConfig
from gemmini.errors import HardwareError
from lowering.emulator.build import build_kernel, run_library
from lowering.reference import CheckResult, InputSet, check_sets
from lowering.signature import Signature, read_signature


def emulator_outputs(c_text: str, sets: Sequence[InputSet], *, fn=None,
                     h_text: str | None = None,
                     config: GemminiConfig | str | None = None) -> Iterator[dict]:
    """The kernel's outputs on each set, one dict per set (lazily, set by set).

    ``fn`` (an ``ir.Function``) gives the signature; without it it is read from the C.
    """
    if fn is None:
        signature = read_signature(c_text, require_shapes=False)
    else:
        signature = Signature(fn.name, tuple(fn.params), fn.context)
    so = build_kernel(c_text, config=config, h_text=h_text)
    for s in sets:
        run = run_library(so, signature, s.inputs, config=config)
        yield {name: run.outputs[name] for name in s.expected if name in run.outputs}


def check_on_emulator(c_text: str, sets: Sequence[InputSet], *, fn=None,
                      h_text: str | None = None,
                      config: GemminiConfig | str | None = None) -> CheckResult:
    """Run the kernel on the emulator on every set and compare with the sets' expected
    outputs. A hardware error (an instruction the emulator rejects) is a failed check
    whose message names the instruction and its line."""
    try:
        return check_sets(emulator_outputs(c_text, sets, fn=fn, h_text=h_text, config=config),
                          sets)
    except HardwareError as e:
        return CheckResult(False, f"on the emulator: {e}")
