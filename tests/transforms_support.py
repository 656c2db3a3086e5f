"""Test support for the transformation tests (test code only, not product code).

* `basic_gemm(M, N, K)`: compact C of Exo's basic Gemmini mapping of a GEMM (same
  loop structure, allocations and addresses that Exo 1.0.0 emits; see
  tests/data/exo_c/gemm_64x64x64.c), parsed to IR.
* `run(fn, inputs)`: a small, independent, sequential numpy interpreter of the
  instruction subset (mvin*, mvout, preload, compute_*, configs) used to check that
  a rewrite keeps the semantics, written separately from gemmini/model.py.
* `reference(A, B, scale, act)`: numpy GEMM with Gemmini's output scaling.
* `FAST_CPU`: the default configuration with a CPU that issues for free, so that cycle
  comparisons see the accelerator's engines.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from gemmini.config import get_config
from gemmini.ir import Assign, BinOp, Const, Decl, DramAddr, FloatConst, For, If, Instr, UnOp, \
    Var

DIM = 16
GARBAGE = 0xFFFFFFFF
FAST_CPU = get_config().with_timing(cpu_issue=1, cpu_loop_iter=0, cpu_arith_op=0)


def basic_gemm_text(M: int, N: int, K: int, name: str = "gemm") -> str:
    KO = K // 64
    return gemm_kernel(M, N, K, f"""
  for (int i = 0; i < {M // 16}; i++) {{
    for (int j = 0; j < {N // 64}; j++) {{
      uint32_t res = 0x80000000;
      for (int j_in_o = 0; j_in_o < 4; j_in_o++) {{
        mvin(0, res + 16 * j_in_o, 16, 16);
      }}
      uint32_t a = 0;
      uint32_t b = {64 * KO};
      for (int ko = 0; ko < {KO}; ko++) {{
        mvin2(&A[16 * i][64 * ko], a + 64 * ko, 64, 16);
        for (int k = 0; k < 4; k++) {{
          mvin3(&B[16 * k + 64 * ko][64 * j], b + 64 * k + 256 * ko, 64, 16);
        }}
        for (int k = 0; k < 4; k++) {{
          for (int j_in_o = 0; j_in_o < 4; j_in_o++) {{
            preload(b + 16 * j_in_o + 64 * k + 256 * ko, (res + 16 * j_in_o) | 0x40000000, 16, 16, 16, 16);
            compute_preloaded(a + 16 * k + 64 * ko, ~((uint32_t)0), 16, 16, 16, 16);
          }}
        }}
      }}
      for (int j_in_o = 0; j_in_o < 4; j_in_o++) {{
        mvout(&C[16 * i][64 * j + 16 * j_in_o], res + 16 * j_in_o, 16, 16);
      }}
    }}
  }}
  fence();
""", name=name)


def basic_gemm(M: int, N: int, K: int):
    from lowering.parser import parse_c
    return parse_c(basic_gemm_text(M, N, K))


def gemm_inputs(M, N, K, seed=0, scale=None, act=0):
    """Random int8 operands; the default scale keeps outputs mostly unsaturated (std ~40)."""
    rng = np.random.default_rng(seed)
    if scale is None:
        scale = 40.0 / (5476.0 * K ** 0.5)
    return {"A": rng.integers(-128, 128, (M, K), dtype=np.int8),
            "B": rng.integers(-128, 128, (K, N), dtype=np.int8),
            "C": np.zeros((M, N), dtype=np.int8),
            "scale": np.float32(scale), "act": act}


def reference(A, B, scale, act):
    acc = A.astype(np.int64) @ B.astype(np.int64)
    acc = ((acc + 2**31) % 2**32 - 2**31).astype(np.int32)
    v = np.rint(acc.astype(np.float32) * np.float32(scale))
    v = np.clip(v, -128, 127).astype(np.int8)
    return np.maximum(v, 0).astype(np.int8) if act else v


# ---------------------------------------------------------------------------- interpreter

def _ev(e, env):
    if e is None:
        return None
    if isinstance(e, Const):
        return e.value
    if isinstance(e, FloatConst):
        return e.value
    if isinstance(e, Var):
        return env[e.name]
    if isinstance(e, UnOp):
        v = _ev(e.operand, env)
        return {"-": lambda: -v, "~": lambda: (~v) & GARBAGE, "!": lambda: int(not v)}[e.op]()
    if isinstance(e, BinOp):
        a, b = _ev(e.lhs, env), _ev(e.rhs, env)
        ops = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
               "/": lambda: int(a / b), "%": lambda: a - b * int(a / b),
               "<<": lambda: a << b, ">>": lambda: a >> b, "|": lambda: a | b,
               "&": lambda: a & b, "==": lambda: int(a == b), "!=": lambda: int(a != b),
               "<": lambda: int(a < b), "<=": lambda: int(a <= b), ">": lambda: int(a > b),
               ">=": lambda: int(a >= b), "&&": lambda: int(bool(a) and bool(b)),
               "||": lambda: int(bool(a) or bool(b))}
        return ops[e.op]()
    raise TypeError(type(e))


class Machine:
    def __init__(self, fn, inputs):
        self.fn = fn
        self.sp = np.zeros((16384, DIM), np.int64)
        self.acc = np.zeros((1024, DIM), np.int64)
        self.dram = {}
        self.env = {}
        for p in fn.params:
            if p.shape:
                self.dram[p.name] = np.array(inputs[p.name]).reshape(-1).astype(np.int64)
            else:
                self.env[p.name] = inputs[p.name]
        self.ld = {}
        self.st = (0, 0, 1.0)
        self.pre = None
        self.weights = None
        self.count = {}

    def run(self, body):
        for s in body:
            if isinstance(s, Instr):
                self.instr(s)
            elif isinstance(s, Decl):
                self.env[s.name] = _ev(s.init, self.env) if s.init is not None else 0
            elif isinstance(s, Assign):
                v = _ev(s.value, self.env)
                self.env[s.name] = v if s.op == "=" else _ev(
                    BinOp(s.op[:-1], Const(self.env[s.name]), Const(v)), {})
            elif isinstance(s, For):
                v = _ev(s.lo, self.env)
                while v < _ev(s.hi, self.env):
                    self.env[s.var] = v
                    self.run(s.body)
                    v += s.step
            elif isinstance(s, If):
                self.run(s.then if _ev(s.cond, self.env) else s.orelse)

    def _mem(self, addr):
        if addr & (1 << 31):
            return self.acc, addr & ((1 << 29) - 1)
        return self.sp, addr & ((1 << 30) - 1)

    def _scale(self, x):
        return float(np.asarray(x, dtype=np.float64).reshape(-1)[0]) if not isinstance(
            x, (int, float)) else x

    def instr(self, s):
        a = [(_ev(x, self.env) if not isinstance(x, DramAddr) else x) for x in s.args]
        self.count[s.op] = self.count.get(s.op, 0) + 1
        op = s.op
        if op == "config_ld":
            self.ld[a[4] or 0] = (a[0], a[3] or DIM)
        elif op == "config_st":
            self.st = (a[0], a[1], self._scale(a[2]))
        elif op in ("mvin", "mvin2", "mvin3"):
            stride, bs = self.ld[{"mvin": 0, "mvin2": 1, "mvin3": 2}[op]]
            mem, row = self._mem(a[1])
            base = _ev(a[0].index, self.env) if isinstance(a[0], DramAddr) else None
            for r in range(a[3]):
                for blk in range(0, a[2], DIM):
                    n = min(DIM, a[2] - blk)
                    if base is not None:
                        d = self.dram[a[0].array]
                        v = d[base + r * stride + blk: base + r * stride + blk + n]
                    else:
                        v = 0
                    dst = row + r + (blk // DIM) * bs
                    if mem is self.acc and a[1] & (1 << 30):
                        mem[dst, :n] += v
                    else:
                        mem[dst, :n] = v
        elif op == "mvout":
            stride, act, scale = self.st
            mem, row = self._mem(a[1])
            d = self.dram[a[0].array]
            base = _ev(a[0].index, self.env)
            for r in range(a[3]):
                vals = mem[row + r, :a[2]]
                if mem is self.acc:
                    vals = ((vals + 2**31) % 2**32 - 2**31).astype(np.int32)
                    vals = np.clip(np.rint(vals.astype(np.float32) * np.float32(scale)), -128, 127)
                    if act:
                        vals = np.maximum(vals, 0)
                d[base + r * stride: base + r * stride + a[2]] = vals
        elif op == "preload":
            self.pre = a
        elif op in ("compute_preloaded", "compute_accumulated"):
            b_addr, c_addr, bc, br, cc, cr = self.pre
            if op == "compute_preloaded":
                w = np.zeros((DIM, DIM), np.int64)
                if b_addr != GARBAGE:
                    mem, row = self._mem(b_addr)
                    w[:br, :bc] = mem[row:row + br, :bc]
                self.weights = w
            A = np.zeros((DIM, DIM), np.int64)
            mem, row = self._mem(a[0])
            A[:a[3], :a[2]] = mem[row:row + a[3], :a[2]]
            D = np.zeros((DIM, DIM), np.int64)
            if a[1] != GARBAGE:
                mem, row = self._mem(a[1])
                D[:a[5], :a[4]] = mem[row:row + a[5], :a[4]]
            out = A @ self.weights + D
            if c_addr != GARBAGE:
                mem, row = self._mem(c_addr)
                if mem is self.acc and c_addr & (1 << 30):
                    mem[row:row + cr, :cc] += out[:cr, :cc]
                else:
                    mem[row:row + cr, :cc] = out[:cr, :cc]
        elif op in ("fence", "config_ex"):
            pass
        else:
            raise NotImplementedError(op)


def run(fn, inputs):
    m = Machine(fn, inputs)
    m.run(fn.body)
    return {p.name: m.dram[p.name] for p in fn.params if p.shape}, m.count


def check_gemm(fn, M, N, K, seed=0, act=0):
    """Run ``fn`` on random inputs; assert C equals the numpy reference; return counts."""
    inp = gemm_inputs(M, N, K, seed=seed, act=act)
    out, counts = run(fn, inp)
    want = reference(inp["A"], inp["B"], inp["scale"], act)
    got = out["C"].reshape(M, N)
    assert np.array_equal(got, want), f"{(got != want).sum()} elements differ"
    return counts


# ---------------------------------------------------------------------------- small programs

def parse(text):
    from lowering.parser import parse_c
    return parse_c(text)


def gemm_kernel(M: int, N: int, K: int, body: str, name: str = "f") -> str:
    """A GEMM kernel's C text: the signature and configs for A[M][K] @ B[K][N] -> C[M][N]
    (rows of A and B at their natural strides), then ``body``."""
    return f"""
void {name}(const float* scale, bool act, const int8_t A[{M}][{K}], const int8_t B[{K}][{N}],
       int8_t C[{M}][{N}]) {{
  config_st({N}, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld({N}, 1.0f, 2);
  config_ld({K}, 1.0f, 1);
  config_ld(0, 1.0f, 0);
{body.strip(chr(10))}
}}
"""


WEIGHT_REUSE_TEXT = """
void wr(const float* scale, bool act, const int8_t A[64][16], const int8_t B[16][16],
        int8_t C[64][16]) {
  config_st(16, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(16, 1.0f, 2);
  config_ld(16, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  mvin3(&B[0][0], 1024, 16, 16);
  for (int i = 0; i < 4; i++) {
    mvin2(&A[16 * i][0], 16 * i, 16, 16);
    mvin(0, 0x80000000 + 16 * i, 16, 16);
  }
  for (int i = 0; i < 4; i++) {
    preload(1024, (0x80000000 + 16 * i) | 0x40000000, 16, 16, 16, 16);
    compute_preloaded(16 * i, ~((uint32_t)0), 16, 16, 16, 16);
  }
  for (int i = 0; i < 4; i++) {
    mvout(&C[16 * i][0], 0x80000000 + 16 * i, 16, 16);
  }
  fence();
}
"""

NARROW_LOADS_TEXT = """
void nl(const float* scale, bool act, const int8_t A[16][64], const int8_t B[64][16],
        int8_t C[16][16]) {
  config_st(16, act, *scale);
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_ld(16, 1.0f, 2);
  config_ld(64, 1.0f, 1);
  config_ld(0, 1.0f, 0);
  for (int z = 0; z < 4; z++) {
    mvin(0, 512 + 16 * z, 16, 16);
  }
  for (int k = 0; k < 4; k++) {
    mvin2(&A[0][16 * k], 16 * k, 16, 16);
  }
  for (int k = 0; k < 4; k++) {
    mvin3(&B[16 * k][0], 4096 + 16 * k, 16, 16);
  }
  mvin(0, 0x80000000, 16, 16);
  for (int k = 0; k < 4; k++) {
    preload(4096 + 16 * k, 0xC0000000, 16, 16, 16, 16);
    compute_preloaded(16 * k, 512 + 16 * k, 16, 16, 16, 16);
  }
  mvout(&C[0][0], 0x80000000, 16, 16);
  fence();
}
"""


def gemm_check_inputs(fn, seed=0, act=0):
    """Random inputs for any A @ B -> C program of this file; returns (inputs, expected C)."""
    shapes = {p.name: p.shape for p in fn.params if p.shape}
    (M, K), (_, N) = shapes["A"], shapes["B"]
    inp = gemm_inputs(M, N, K, seed=seed, act=act)
    return inp, reference(inp["A"], inp["B"], inp["scale"], act)


def check_program(fn, seed=0):
    """Run any A @ B -> C program with the test interpreter; assert against numpy."""
    inp, want = gemm_check_inputs(fn, seed)
    out, counts = run(fn, inp)
    got = out["C"].reshape(want.shape)
    assert np.array_equal(got, want), f"{(got != want).sum()} elements differ"
    return counts


EXO_CONV = Path(__file__).parent / "data" / "exo_c" / "conv_1x22x22x16.c"


def exo_conv_case(fn):
    """Random inputs of Exo's conv_1x22x22x16 (``fn``: its code or a rewrite of it, same
    parameters) and numpy's output for them."""
    from benchmarks.numpy_reference import numpy_conv
    shapes = {p.name: p.shape for p in fn.params}
    rng = np.random.default_rng(3)
    inputs = {"inp": rng.integers(-128, 128, shapes["inp"], dtype=np.int8),
              "weights": rng.integers(-128, 128, shapes["weights"], dtype=np.int8),
              "bias": rng.integers(-20000, 20000, shapes["bias"], dtype=np.int32),
              "scale": np.float32(1.0 / 3200), "act": True}
    return inputs, numpy_conv(inputs["inp"], inputs["weights"], inputs["bias"],
                              inputs["scale"], True)


def app_named(fn, name, config, pred=lambda a: True):
    from autocomp_exo.transforms import applications
    apps = [a for a in applications(fn, config, [name]) if pred(a)]
    assert apps, f"no application of {name}"
    return apps[0]


def model_cycles(fn, seed=0, config=None):
    """Cycles on gemmini.model (and checks the outputs against numpy)."""
    model = importlib.import_module("gemmini.model")
    inp, want = gemm_check_inputs(fn, seed)
    r = model.run(fn, inp, config)
    assert np.array_equal(np.asarray(r.outputs["C"]).reshape(want.shape), want)
    return r.report.cycles
