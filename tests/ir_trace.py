"""Test helper: run Exo's C against a logging mock of gemmini.h, and walk IR the same way.

The C side is compiled by gcc together with exo 1.0.0's own allocator sources, so
the addresses it logs are what the real allocators return: an expectation
independent of our parser, allocator simulation and simplifier.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import exo

from gemmini import isa
from gemmini.ir import (
    Assign, BinOp, Cond, Const, Decl, DramAddr, FloatConst, For, Function, If, Instr, UnOp, Var,
)

EXO_LIBS = Path(exo.__file__).parent / "libs"

MOCK_GEMMINI_H = r"""
#pragma once
#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>
#define WS 1
#define P_I(x) printf(" %lld", (long long)(x))
#define P_F(x) printf(" %g", (double)(x))
#define P_D(x) printf(" %llu", (unsigned long long)(uintptr_t)(x))
#define P_L(x) printf(" %llu", (unsigned long long)(uint32_t)(x))
#define END() printf("\n")
#define gemmini_extended_config_ex(a,b,c,d,e,f) (printf("config_ex"),P_I(a),P_I(b),P_I(c),P_I(d),P_I(e),P_I(f),END())
#define gemmini_extended_config_st(s,a,sc) (printf("config_st"),P_I(s),P_I(a),P_F(sc),END())
#define gemmini_extended3_config_ld(s,sc,sh,id) (printf("config_ld"),P_I(s),P_F(sc),P_I(sh),P_I(id),END())
#define gemmini_extended4_config_ld(s,sc,sh,bs,id) (printf("config_ld4"),P_I(s),P_F(sc),P_I(sh),P_I(bs),P_I(id),END())
#define gemmini_extended_mvin(d,l,c,r) (printf("mvin"),P_D(d),P_L(l),P_I(c),P_I(r),END())
#define gemmini_extended_mvin2(d,l,c,r) (printf("mvin2"),P_D(d),P_L(l),P_I(c),P_I(r),END())
#define gemmini_extended_mvin3(d,l,c,r) (printf("mvin3"),P_D(d),P_L(l),P_I(c),P_I(r),END())
#define gemmini_extended_mvout(d,l,c,r) (printf("mvout"),P_D(d),P_L(l),P_I(c),P_I(r),END())
#define gemmini_extended_preload(b,c,bc,br,cc,cr) (printf("preload"),P_L(b),P_L(c),P_I(bc),P_I(br),P_I(cc),P_I(cr),END())
#define gemmini_extended_compute_preloaded(a,d,ac,ar,dc,dr) (printf("compute_preloaded"),P_L(a),P_L(d),P_I(ac),P_I(ar),P_I(dc),P_I(dr),END())
#define gemmini_extended_compute_accumulated(a,d,ac,ar,dc,dr) (printf("compute_accumulated"),P_L(a),P_L(d),P_I(ac),P_I(ar),P_I(dc),P_I(dr),END())
#define gemmini_fence() (printf("fence\n"))
"""

CTYPES = {"i8": "int8_t", "i32": "int32_t", "f32": "float", "bool": "bool"}
ELEM_BYTES = {"i8": 1, "i32": 4, "f32": 4}
LONG_OP = {"config_ld": {4: "config_ld", 5: "config_ld4"}}

# A fixed fake base address per array, so traces do not depend on where the C
# program's arrays happen to live: the C side prints real pointers and its main()
# prints each base, and `normalize_c_trace` rewrites pointers as (array, offset).


def c_trace(c_text: str, h_text: str, header: str, fn: Function, workdir: Path,
            scalars: dict | None = None) -> list[str]:
    """Compile Exo's C with the mock header and exo's allocators; run; normalized trace."""
    (workdir / "include").mkdir(parents=True, exist_ok=True)
    (workdir / "include" / "gemmini.h").write_text(MOCK_GEMMINI_H)
    (workdir / header).write_text(h_text)
    (workdir / "kernel.c").write_text(c_text)
    decls, args, bases = [], [], []
    if fn.context:
        decls.append(f"static {fn.context} ctx;")
        args.append("&ctx")
    for p in fn.params:
        if p.is_array:
            decls.append(f"static {CTYPES[p.dtype]} {p.name}[{p.size}];")
            args.append(p.name)
            bases.append(f'printf("base {p.name} %llu\\n", (unsigned long long)(uintptr_t){p.name});')
        elif p.by_pointer:
            decls.append(f"static float {p.name} = 1.0f;")
            args.append(f"&{p.name}")
        else:
            decls.append(f"static {CTYPES[p.dtype]} {p.name} = {(scalars or {}).get(p.name, 0)};")
            args.append(p.name)
    main = "\n".join([f'#include "{header}"', "#include <stdio.h>", *decls,
                      "int main(void) {", *bases, f"{fn.name}({', '.join(args)});",
                      "return 0; }"])
    (workdir / "main.c").write_text(main)
    exe = workdir / "kernel"
    cc = subprocess.run(["gcc", "-O0", "-w", "-std=gnu11", "-include", "stdint.h",
                         f"-I{workdir}", f"-I{EXO_LIBS}", "-o", str(exe),
                         str(workdir / "kernel.c"), str(workdir / "main.c"),
                         str(EXO_LIBS / "gemm_malloc.c"), str(EXO_LIBS / "gemm_acc_malloc.c")],
                        capture_output=True, text=True, cwd=workdir)
    if cc.returncode != 0:
        raise AssertionError(f"gcc failed:\n{cc.stderr[:3000]}")
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True,
                         cwd=workdir, env=dict(os.environ)).stdout
    return normalize_c_trace(out.splitlines(), fn)


def normalize_c_trace(lines: list[str], fn: Function) -> list[str]:
    bases = {}
    out = []
    for ln in lines:
        parts = ln.split()
        if parts[0] == "base":
            bases[parts[1]] = int(parts[2])
            continue
        if parts[0] in ("mvin", "mvin2", "mvin3", "mvout"):
            parts[1] = _dram_text(int(parts[1]), bases, fn)
        out.append(" ".join(parts))
    return out


def _dram_text(ptr: int, bases: dict, fn: Function) -> str:
    if ptr == 0:
        return "0"
    for p in fn.params:
        if p.name in bases:
            off = ptr - bases[p.name]
            size = p.size * ELEM_BYTES[p.dtype]
            if 0 <= off < size:
                return f"{p.name}+{off // ELEM_BYTES[p.dtype]}"
    return f"?{ptr}"


# ---------------------------------------------------------------- IR side

def ev(e, env):
    """C semantics on Python ints (written for tests, independent of lowering.simplify)."""
    if isinstance(e, Const):
        return e.value
    if isinstance(e, FloatConst):
        return e.value
    if isinstance(e, Var):
        return env[e.name]
    if isinstance(e, UnOp):
        v = ev(e.operand, env)
        return {"-": -v, "!": int(v == 0), "~": (~v) & 0xFFFFFFFF if v >= 0 else ~v}[e.op]
    if isinstance(e, Cond):
        return ev(e.then, env) if ev(e.cond, env) else ev(e.orelse, env)
    assert isinstance(e, BinOp)
    a, b = ev(e.lhs, env), ev(e.rhs, env)
    if e.op in ("/", "%"):
        q = abs(a) // abs(b)
        q = -q if (a < 0) != (b < 0) else q
        return q if e.op == "/" else a - b * q
    table = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
             "<<": lambda: a << b, ">>": lambda: a >> b, "|": lambda: a | b,
             "&": lambda: a & b, "^": lambda: a ^ b, "==": lambda: int(a == b),
             "!=": lambda: int(a != b), "<": lambda: int(a < b), "<=": lambda: int(a <= b),
             ">": lambda: int(a > b), ">=": lambda: int(a >= b),
             "&&": lambda: int(bool(a) and bool(b)), "||": lambda: int(bool(a) or bool(b))}
    return table[e.op]()


def ir_trace(fn: Function, scalars: dict | None = None) -> list[str]:
    """The same trace as `c_trace`, by walking the IR."""
    env = {p.name: (1.0 if p.dtype == "f32" else 0) for p in fn.params if not p.is_array}
    env.update(scalars or {})
    out: list[str] = []
    _walk(fn.body, env, out)
    return out


def _walk(body, env, out):
    for s in body:
        if isinstance(s, For):
            for v in range(ev(s.lo, env), ev(s.hi, env), s.step):
                inner = dict(env)
                inner[s.var] = v
                _walk(s.body, inner, out)
                for k in env:
                    if k != s.var:
                        env[k] = inner[k]
        elif isinstance(s, If):
            _walk(s.then if ev(s.cond, env) else s.orelse, env, out)
        elif isinstance(s, Decl):
            env[s.name] = 0 if s.init is None else ev(s.init, env)
        elif isinstance(s, Assign):
            v = ev(s.value, env)
            env[s.name] = v if s.op == "=" else ev(BinOp(s.op[:-1], Const(env[s.name]), Const(v)), {})
        elif isinstance(s, Instr):
            out.append(_instr_text(s, env))


def _instr_text(s: Instr, env) -> str:
    spec = isa.SPECS[s.op]
    spelling = spec.pick_spelling(s.args, long=True)
    name = LONG_OP.get(s.op, {}).get(len(spelling.slots), s.op)
    words = [name]
    for slot in spelling.slots:
        a, role = s.args[slot], spec.operands[slot].role
        if isinstance(a, DramAddr):
            words.append(f"{a.array}+{ev(a.index, env)}")
        elif role == isa.FLOAT:
            words.append(f"{float(ev(a, env)):g}")
        elif role in (isa.LOCAL,):
            words.append(str(ev(a, env) & 0xFFFFFFFF))
        else:
            words.append(str(ev(a, env)))
    return " ".join(words)
