"""lowering.alloc against exo 1.0.0's own allocator C (compiled with gcc) on random traces."""

import random
import shutil
import subprocess

import pytest

from lowering.alloc import AccumulatorAllocator, HeapState, ScratchpadAllocator
from gemmini.errors import UnsupportedConstruct
from lowering.parser import parse_c
from tests.ir_trace import EXO_LIBS

DRIVER = r"""
#include <stdio.h>
#include <stdint.h>
uint32_t gemm_malloc(long unsigned int size); void gemm_free(uint32_t addr);
uint32_t gemm_acc_malloc(long unsigned int size); void gemm_acc_free(uint32_t addr);
int main(void) {
  char op[8]; unsigned long v;
  while (scanf("%7s %lu", op, &v) == 2) {
    if (op[0] == 'm') printf("%u\n", gemm_malloc(v));
    else if (op[0] == 'f') gemm_free((uint32_t)v);
    else if (op[0] == 'M') printf("%u\n", gemm_acc_malloc(v));
    else gemm_acc_free((uint32_t)v);
  }
  return 0;
}
"""


@pytest.fixture(scope="module")
def exo_alloc(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    d = tmp_path_factory.mktemp("alloc")
    (d / "include").mkdir()
    (d / "include" / "gemmini.h").write_text("#pragma once\n")
    (d / "driver.c").write_text(DRIVER)
    exe = d / "driver"
    subprocess.run(["gcc", "-O0", "-w", "-include", "stdint.h", f"-I{d}", f"-I{EXO_LIBS}",
                    "-o", str(exe), str(d / "driver.c"), str(EXO_LIBS / "gemm_malloc.c"),
                    str(EXO_LIBS / "gemm_acc_malloc.c")], check=True, capture_output=True)
    return exe


def _random_ops(seed: int, n: int = 300):
    rng = random.Random(seed)
    ops = []
    live = {"sp": [], "acc": []}
    sp, acc = ScratchpadAllocator(), AccumulatorAllocator()
    ours = []
    for _ in range(n):
        kind = rng.choice(["sp", "acc"])
        alloc = sp if kind == "sp" else acc
        if live[kind] and rng.random() < 0.45:
            addr = live[kind].pop(rng.randrange(len(live[kind])))
            ops.append(("f" if kind == "sp" else "F", addr))
            alloc.free(addr)
        else:
            size = rng.choice([0, 1, 15, 16, 17, 256, 1024, 4096, rng.randrange(1, 20000)])
            ops.append(("m" if kind == "sp" else "M", size))
            addr = alloc.malloc(size)
            ours.append(addr)
            if size:
                live[kind].append(addr)
    return ops, ours


@pytest.mark.parametrize("seed", range(6))
def test_allocators_match_exo_c(exo_alloc, seed):
    ops, ours = _random_ops(seed)
    stdin = "".join(f"{op} {v}\n" for op, v in ops)
    out = subprocess.run([str(exo_alloc)], input=stdin, capture_output=True, text=True,
                         check=True).stdout.split()
    assert [int(x) for x in out] == ours


def test_accumulator_1_0_0_always_row_zero():
    acc = AccumulatorAllocator()
    assert [acc.malloc(1024), acc.malloc(64), acc.malloc(16)] == [0x80000000] * 3


def test_zero_size_fails():
    assert ScratchpadAllocator().malloc(0) == 0xFFFFFFFF
    assert AccumulatorAllocator().malloc(0) == 0xFFFFFFFF


def test_loop_body_allocations_are_simulated_once():
    fn = parse_c("void f(int8_t A[4][4]) { uint32_t keep = gemm_malloc(32);"
                 " for (int i = 0; i < 8; i++) { uint32_t t = gemm_malloc(64); mvin(0, t, 16, 1);"
                 " gemm_free(t); } uint32_t after = gemm_malloc(64); }")
    keep, loop, after = fn.body
    assert keep.init.value == 0 and loop.body[0].init.value == 2 and after.init.value == 2


def test_loop_body_unbalanced_is_an_error():
    with pytest.raises(UnsupportedConstruct, match="not all freed"):
        parse_c("void f() { for (int i = 0; i < 2; i++) { uint32_t t = gemm_acc_malloc(64); } }")


def test_if_branch_unbalanced_is_an_error():
    with pytest.raises(UnsupportedConstruct, match="if branch"):
        parse_c("void f() { int x = 0; if (x) { uint32_t t = gemm_malloc(64); } }")


@pytest.mark.parametrize("before,kernel", [((8192 * 16,), (512 * 16, 2048 * 16)),
                                           ((100 * 16, 300 * 16), (64 * 16, 256 * 16, 32))])
def test_heap_state_matches_exo_c_after_earlier_allocations(exo_alloc, before, kernel):
    """A heap left by earlier gemm_malloc/gemm_free calls (all freed again) places the
    kernel's buffers as exo's allocator C does after the same calls."""
    ops = [("m", n) for n in before] + [("f", sum(before[:i]) // 16) for i in range(len(before))]
    ops += [("m", n) for n in kernel]
    stdin = "".join(f"{op} {v}\n" for op, v in ops)
    out = [int(x) for x in subprocess.run([str(exo_alloc)], input=stdin, capture_output=True,
                                          text=True, check=True).stdout.split()]
    heap = HeapState(tuple((n // 16, False) for n in before)).allocators()
    assert [heap.malloc("sp", n) for n in kernel] == out[len(before):]


def test_parse_places_buffers_after_a_freed_block():
    text = ("void f(int8_t A[4][4]) { uint32_t a = gemm_malloc(512 * 16);"
            " uint32_t b = gemm_malloc(2048 * 16); }")
    fresh, after = parse_c(text), parse_c(text, heap=HeapState.freed(8192))
    assert [s.init.value for s in fresh.body] == [0, 512]
    assert [s.init.value for s in after.body] == [0, 8192]      # B in bank 2 of 4096 rows
