"""Host emulator of Gemmini: gemmini.h's instruction macros implemented functionally in C.

* ``gemmini.h`` (+ ``include/gemmini.h`` for Exo's ``#include <include/gemmini.h>``):
  the macros, long and short spellings; its header comment is the semantics reference,
  including ``loop_ws``'s operand meanings.
* ``emulator.c``: state (scratchpad, accumulator, configs) and instruction semantics.
* ``build.py``: ``build_kernel`` (`lowering.gcc`, cached under ``<cache root>/emulator``), ``run_c`` (trusted C:
  Exo's output or our printer's), ``run_ir`` (an ``ir.Function`` through the toolchain
  printer) -> ``EmulatorRun(outputs, counts, scratchpad, accumulator)``; errors are
  ``gemmini.errors.HardwareError`` naming the instruction and its C line. The configuration
  picks the sizes and the element types (int8 / int32, or float32 throughout: ``EMU_FLOAT``).
* ``check.py``: ``check_on_emulator`` (a kernel on a workload's input sets, compared by
  `lowering.reference.check_sets`: bit for bit, or the fp32 tolerance).
"""
