"""The warm instruction cache of the compiled CPU cost (`lowering.riscv.icache`).

Expectations from LRU's textbook behaviour: a loop whose lines fit in their sets never
misses once warm; a loop cycling through more lines than a set has ways misses on every
line of every iteration; and code spread over several sets fits when no set overflows.
"""

import numpy as np

from gemmini.config import TimingParams
from lowering.riscv.icache import miss_cycles


def _blocks(address: int, size: int, times: int) -> np.ndarray:
    return np.full(times, address << 16 | size, np.int64)


def test_a_loop_that_fits_misses_nothing_once_warm():
    tp = TimingParams(icache_sets=1, icache_ways=4, icache_line_bytes=64)
    assert miss_cycles(_blocks(0x1000, 256, 10), tp).sum() == 0


def test_a_loop_cycling_through_more_lines_than_ways_misses_every_line():
    tp = TimingParams(icache_sets=1, icache_ways=3, icache_line_bytes=64,
                      icache_miss_penalty=7)
    got = miss_cycles(_blocks(0x1000, 256, 10), tp)
    assert got.tolist() == [4 * 7] * 10


def test_lines_spread_over_sets_fit_when_no_set_overflows():
    tp = TimingParams(icache_sets=2, icache_ways=2, icache_line_bytes=64)
    assert miss_cycles(_blocks(0x1000, 256, 10), tp).sum() == 0
    tp1 = TimingParams(icache_sets=2, icache_ways=1, icache_line_bytes=64)
    assert miss_cycles(_blocks(0x1000, 256, 10), tp1).sum() == 10 * 4 * tp1.icache_miss_penalty


def test_past_the_replay_limit_every_fetch_in_an_overfull_set_is_charged(monkeypatch):
    """The bound used for very long runs; on a cycle through more lines than ways it is
    exact, as LRU misses every fetch there."""
    import lowering.riscv.icache as icache
    tp = TimingParams(icache_sets=2, icache_ways=1, icache_line_bytes=64,
                      icache_miss_penalty=7)
    seq = np.concatenate([_blocks(0x1000, 256, 10), _blocks(0x2000, 64, 1)])
    exact = miss_cycles(seq, tp)
    monkeypatch.setattr(icache, "MAX_REPLAY", 0)
    bound = miss_cycles(seq, tp)
    assert bound[:10].tolist() == exact[:10].tolist() == [4 * 7] * 10
    assert (bound >= exact).all()


def test_two_blocks_sharing_a_line_fetch_it_from_the_cache():
    tp = TimingParams(icache_sets=1, icache_ways=1, icache_line_bytes=64)
    seq = np.array([0x1000 << 16 | 16, 0x1010 << 16 | 16] * 5, np.int64)
    assert miss_cycles(seq, tp).sum() == 0


def test_the_judge_charges_a_kernel_whose_code_does_not_fit():
    """The same compiled kernel priced with the default cache and with one far too small:
    its CPU cycles grow by the misses' cycles, and only then."""
    import pytest

    from lowering.gcc import CompileError
    pytest.importorskip("unicorn")
    from lowering.riscv.execute import Arg, Buffer, run_kernel
    from lowering.riscv.toolchain import compile_kernel, find_riscv_compiler
    from gemmini.config import get_config
    try:
        compiler = find_riscv_compiler()
    except CompileError as e:
        pytest.skip(str(e))
    body = "\n".join(f"  gemmini_fence(); A[{i}] = {i % 100};" for i in range(200))
    src = f'#include <stdint.h>\n#include "gemmini.h"\nvoid k(int8_t *A) {{\n{body}\n}}\n'
    elf = compile_kernel(src, "k", get_config(), compiler)
    base = 0x8000_0000
    warm = run_kernel(elf, [Arg(base)], [Buffer(base, 4096)], TimingParams())
    tiny = TimingParams(icache_sets=1, icache_ways=1, icache_line_bytes=64,
                        icache_miss_penalty=10)
    cold = run_kernel(elf, [Arg(base)], [Buffer(base, 4096)], tiny)
    assert cold.cycles > warm.cycles + 10 * 10
    assert (cold.cycles - warm.cycles) % 10 == 0
