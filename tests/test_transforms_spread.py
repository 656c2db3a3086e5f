"""`spread_copies`: the two copies of a double-buffered buffer moved one bank apart.

Semantics are checked with the test interpreter against numpy; the cycle effect on the
model with accumulator port contention (`TimingParams.acc_port_contention`)."""

import pytest

from autocomp_exo.transforms import NotApplicable, apply, applications
from autocomp_exo.transforms.base import Application
from autocomp_exo.transforms.ir_util import const_decls, eval_expr, instrs
from gemmini.config import get_config
from test_transforms_overlap import UNROLLED_TILE_TEXT
from transforms_support import FAST_CPU, check_program, model_cycles, parse

CFG = get_config()
CONTENDED = FAST_CPU.with_timing(acc_port_contention=True)

# the unrolled 64-row accumulator tile double-buffered in place: both copies (rows 0-63
# and 64-127) in accumulator bank 0
NEAR_TEXT = UNROLLED_TILE_TEXT.replace("0x80", "64 * (j % 2) + 0x80") \
    .replace("0xC0", "64 * (j % 2) + 0xC0")


def acc_rows(fn, op, env):
    """The accumulator row of every ``op`` instruction's local operand at ``env``."""
    consts = const_decls(fn)
    return [eval_expr(x.args[1], {**consts, **env}) & 0x1FFFFFFF
            for _, x, _ in instrs(fn.body) if x.op == op]


def test_spread_copies_moves_the_accumulator_copies_one_bank_apart():
    fn = parse(NEAR_TEXT)
    check_program(fn)
    found = applications(fn, CFG, ["spread_copies"])
    assert len(found) == 1 and "accumulator banks" in found[0].note   # one tile, 4 blocks
    new = apply(fn, found[0], CFG)
    check_program(new, seed=5)
    for op in ("mvout", "mvin", "preload"):
        r0 = acc_rows(new, op, {"i": 0, "j": 0, "k": 0})
        r1 = acc_rows(new, op, {"i": 0, "j": 1, "k": 0})
        assert r0 and all(b - a == CFG.acc_bank_rows for a, b in zip(r0, r1)), op
        assert all(a // CFG.acc_bank_rows != b // CFG.acc_bank_rows for a, b in zip(r0, r1))
    # the next tile's zeroing and the last tile's mvouts no longer go through the port
    # of the bank the array writes
    assert model_cycles(new, config=CONTENDED) < model_cycles(fn, config=CONTENDED)
    # nothing left to spread
    assert applications(new, CFG, ["spread_copies"]) == []


def test_spread_copies_refuses_a_buffer_also_read_without_its_copy_index():
    """An mvout after the loop reads copy 0 at a fixed address: moving the copies would
    leave it reading rows nobody wrote."""
    text = NEAR_TEXT.rstrip()
    assert text.endswith("}\n}")
    text = text[:-1] + "  mvout(&C[0][0], 0x80000000, 16, 16);\n}\n"
    fn = parse(text)
    found = applications(fn, CFG, ["spread_copies"])
    assert found
    for a in found:
        with pytest.raises(NotApplicable):
            apply(fn, a, CFG)


def test_spread_copies_leaves_copies_already_in_two_banks():
    fn = parse(UNROLLED_TILE_TEXT.replace("0x80", "512 * (j % 2) + 0x80")
               .replace("0xC0", "512 * (j % 2) + 0xC0"))
    check_program(fn)
    assert applications(fn, CFG, ["spread_copies"]) == []
    site = [p for p, x, _ in instrs(fn.body) if x.op == "mvout"][0]
    with pytest.raises(NotApplicable):
        apply(fn, Application("spread_copies", site, (("arg", 1),)), CFG)
