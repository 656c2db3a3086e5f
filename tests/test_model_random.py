"""Random valid programs: the batched model against a plain one-instruction-at-a-time reference.

The reference below is written from hardware.md section 3 with Python integers and
explicit loops, independently of gemmini.functional (which batches computes).
"""

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from gemmini import model
from tests.model_helpers import ACC, ACCUMULATE, GARBAGE, RAW, I, config_ex, config_ld, \
    config_st, dram, fn

DIM = 16
SCALE = 1 / 64


def wrap32(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


class Reference:
    def __init__(self, X):
        self.X = X.astype(np.int64)
        self.sp = [[None] * DIM for _ in range(64)]
        self.acc = [[None] * DIM for _ in range(64)]
        self.weights = None
        self.pending = None
        self.out32: dict[int, list] = {}
        self.out8: dict[int, list] = {}

    def mvin(self, src_block, sp_row):
        for i in range(DIM):
            self.sp[sp_row + i] = [int(v) for v in self.X[16 * src_block + i]]

    def zero(self, acc_row):
        for i in range(DIM):
            self.acc[acc_row + i] = [0] * DIM

    def preload(self, b, c, bc, br, cc, cr):
        self.pending = (b, c, bc, br, cc, cr)

    def compute(self, preloaded, a, d, ac, ar, dc, dr):
        b, c, bc, br, cc, cr = self.pending
        if preloaded:
            W = [[0] * DIM for _ in range(DIM)]
            if b != GARBAGE:
                for k in range(br):
                    for j in range(bc):
                        W[k][j] = self.sp[b + k][j]
            self.weights = W
        W = self.weights
        for i in range(cr):
            for j in range(cc):
                s = 0
                if d != GARBAGE and i < dr and j < dc:
                    s = self.sp[d + i][j]
                for k in range(ac if i < ar else 0):
                    s += self.sp[a + i][k] * W[k][j]
                if c == GARBAGE:
                    continue
                row = c & 0xFFFF
                if c & ACCUMULATE:
                    self.acc[row + i][j] = wrap32(self.acc[row + i][j] + s)
                else:
                    self.acc[row + i][j] = wrap32(s)

    def mvout(self, acc_row, slot, raw):
        rows = [list(self.acc[acc_row + i]) for i in range(DIM)]
        if raw:
            self.out32[slot] = rows
        else:
            f = np.float32(SCALE)
            self.out8[slot] = [[int(np.clip(np.rint(np.float32(v) * f), -128, 127)) for v in r]
                               for r in rows]


ops_strategy = st.lists(st.one_of(
    st.tuples(st.just("mvin"), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("zero"), st.integers(0, 3)),
    st.tuples(st.just("mvout"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("matmuls"), st.integers(1, 6), st.randoms(use_true_random=False)),
    st.tuples(st.just("tile"), st.integers(1, 4), st.integers(1, 4),
              st.randoms(use_true_random=False)),
), min_size=1, max_size=25)


def build(ops, X):
    ref = Reference(X)
    body = [config_ld(16), config_ex()]
    for blk in range(4):
        body.append(I("mvin", dram("X", 256 * blk), 16 * blk, 16, 16))
        ref.mvin(blk, 16 * blk)
        body.append(I("mvin", 0, ACC | (16 * blk), 16, 16))
        ref.zero(16 * blk)
    slots32 = slots8 = 0
    for op in ops:
        if op[0] == "mvin":
            body.append(I("mvin", dram("X", 256 * op[1]), 16 * op[2], 16, 16))
            ref.mvin(op[1], 16 * op[2])
        elif op[0] == "zero":
            body.append(I("mvin", 0, ACC | (16 * op[1]), 16, 16))
            ref.zero(16 * op[1])
        elif op[0] == "mvout":
            if op[2]:
                body += [config_st(64), I("mvout", dram("O32", 256 * slots32),
                                           ACC | RAW | (16 * op[1]), 16, 16)]
                ref.mvout(16 * op[1], slots32, True)
                slots32 += 1
            else:
                body += [config_st(16, 0, SCALE),
                         I("mvout", dram("O8", 256 * slots8), ACC | (16 * op[1]), 16, 16)]
                ref.mvout(16 * op[1], slots8, False)
                slots8 += 1
        elif op[0] == "tile":
            # Exo's inner loops: for k: for j: preload(B_kj, C_j | acc) compute(A_k)
            rnd = op[3]
            cs = rnd.sample(range(4), op[2])
            full = rnd.random() < 0.5
            cr, cc = (16, 16) if full else (rnd.randint(1, 16), rnd.randint(1, 16))
            for _ in range(op[1]):
                a, b = 16 * rnd.randint(0, 3), 16 * rnd.randint(0, 3)
                for cb in cs:
                    c = ACC | ACCUMULATE | (16 * cb)
                    ar_, ac_, br_, bc_ = (16, 16, 16, 16) if full else \
                        [rnd.randint(1, 16) for _ in range(4)]
                    body.append(I("preload", b, c, bc_, br_, cc, cr))
                    ref.preload(b, c, bc_, br_, cc, cr)
                    body.append(I("compute_preloaded", a, GARBAGE, ac_, ar_, 16, 16))
                    ref.compute(True, a, GARBAGE, ac_, ar_, 16, 16)
        else:
            rnd = op[2]
            full = rnd.random() < 0.6
            for _ in range(op[1]):
                def dims(full=full, rnd=rnd):
                    return (16, 16) if full else (rnd.randint(1, 16), rnd.randint(1, 16))
                b = GARBAGE if rnd.random() < 0.1 else 16 * rnd.randint(0, 3)
                c = 16 * rnd.randint(0, 3)
                c = (ACC | c | ACCUMULATE) if rnd.random() < 0.8 else (ACC | c)
                if rnd.random() < 0.1:
                    c = GARBAGE
                a = 16 * rnd.randint(0, 3)
                d = GARBAGE if full or rnd.random() < 0.7 else 16 * rnd.randint(0, 3)
                preloaded = ref.weights is None or rnd.random() < 0.8
                (bc, br), (cc, cr), (ac, ar), (dc, dr) = dims(), dims(), dims(), dims()
                body.append(I("preload", GARBAGE if not preloaded else b, c, bc, br, cc, cr))
                ref.preload(GARBAGE if not preloaded else b, c, bc, br, cc, cr)
                body.append(I("compute_preloaded" if preloaded else "compute_accumulated",
                              a, d, ac, ar, dc, dr))
                ref.compute(preloaded, a, d, ac, ar, dc, dr)
    n32, n8 = max(slots32, 1), max(slots8, 1)
    f = fn([("X", "i8", (64, 16), True), ("O32", "i32", (16 * n32, 16), False),
            ("O8", "i8", (16 * n8, 16), False)], *body)
    return f, ref, slots32, slots8


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_strategy, seed=st.integers(0, 2**16))
def test_random_programs_match_reference(ops, seed):
    X = np.random.default_rng(seed).integers(-128, 128, (64, 16)).astype(np.int8)
    f, ref, n32, n8 = build(ops, X)
    out = model.run(f, {"X": X}).outputs
    for s in range(n32):
        np.testing.assert_array_equal(out["O32"][16 * s:16 * s + 16], np.array(ref.out32[s]))
    for s in range(n8):
        np.testing.assert_array_equal(out["O8"][16 * s:16 * s + 16], np.array(ref.out8[s]))
