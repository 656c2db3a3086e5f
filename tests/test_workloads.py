"""Workload definitions: algorithm procs, the suite, and Workload recognition."""

from __future__ import annotations

import pytest

from lowering.workload import Workload, guess_kind, is_mapped, proc_signature
from lowering import suite as wl
from gemmini import ir
from gemmini.errors import UnsupportedConstruct


def test_suite_names_and_macs():
    names = [s.name for s in wl.SUITE]
    assert names == ["gemm_512x512x512", "gemm_12544x256x64", "gemm_12544x64x256",
                     "gemm_3136x512x128", "gemm_3136x128x512", "gemm_784x1024x256",
                     "conv_58x58x64", "conv_30x30x128", "conv_16x16x256"]
    macs = {s.name: s.macs for s in wl.SUITE}
    assert macs["gemm_512x512x512"] == 512 ** 3
    assert macs["gemm_784x1024x256"] == 784 * 1024 * 256
    # hardware.md section 6: every suite convolution is 462,422,016 MACs
    for name in ("conv_58x58x64", "conv_30x30x128", "conv_16x16x256"):
        assert macs[name] == 462_422_016


def test_by_name_parses_shapes():
    assert wl.by_name("gemm_20x24x36").shape_dict == {"M": 20, "N": 24, "K": 36}
    assert wl.by_name("conv_6x6x16_o32_b2").shape_dict == \
        {"batch": 2, "in_dim": 6, "in_ch": 16, "out_ch": 32}
    with pytest.raises(KeyError, match="unknown workload"):
        wl.by_name("matmul_3")


def test_gemm_algorithm_signature():
    p = wl.gemm_algorithm(20, 24, 36)
    assert p.name() == "gemm_20x24x36"
    sig = proc_signature(p, ("C",))
    assert sig == (
        ir.Param("scale", "f32", (), const=True, by_pointer=True),
        ir.Param("act", "bool", ()),
        ir.Param("A", "i8", (20, 36), const=True),
        ir.Param("B", "i8", (36, 24), const=True),
        ir.Param("C", "i8", (20, 24)),
    )
    assert guess_kind(sig) == "gemm" and not is_mapped(p)


def test_conv_algorithm_signature():
    p = wl.conv_algorithm(4, 58, 64, 64)
    assert p.name() == "conv_58x58x64"
    shapes = {q.name: q.shape for q in proc_signature(p, ("output",))}
    assert shapes == {"output": (4, 56, 56, 64), "bias": (1, 64),
                      "inp": (4, 58, 58, 64), "weights": (3, 3, 64, 64),
                      "act": (), "scale": ()}


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="positive"):
        wl.gemm_algorithm(0, 16, 16)
    with pytest.raises(ValueError, match="smaller than"):
        wl.conv_algorithm(1, 2, 16, 16)


def test_workload_from_proc_takes_the_proc_itself_as_reference():
    p = wl.gemm_algorithm(20, 24, 36)
    w = Workload.from_proc(p)
    # an unmapped proc is its own reference; nothing substitutes a bundled algorithm
    assert w.algorithm is p and w.mapped is None
    assert (w.name, w.kind, w.macs) == ("gemm_20x24x36", "gemm", None)
    assert w.outputs == ("C",) and w.roles == {"A": "read", "B": "read", "C": "written"}
    assert [q.name for q in w.inputs] == ["A", "B"]
    assert w.settings == [{"act": False}, {"act": True}]
    wc = Workload.from_proc(wl.conv_algorithm(2, 6, 16, 32))
    assert wc.kind == "conv" and wc.outputs == ("output",)


def test_workload_from_proc_accepts_any_proc_and_rejects_no_output():
    from exo import DRAM, proc  # noqa: F401  (DRAM is read by the @proc parser)

    @proc
    def zero(n: size, x: i8[n] @ DRAM):
        for i in seq(0, n):
            x[i] = 0.0

    w = Workload.from_proc(zero.partial_eval(4))
    assert w.outputs == ("x",) and w.settings == [{}]

    @proc
    def reads_only(x: i8[4] @ DRAM):
        pass

    with pytest.raises(UnsupportedConstruct, match="writes no array"):
        Workload.from_proc(reads_only)


def test_workload_from_proc_needs_constant_sizes():
    from exo import DRAM, proc  # noqa: F401  (DRAM is read by the @proc parser)

    @proc
    def sized(n: size, x: i8[n] @ DRAM):
        for i in seq(0, n):
            x[i] = 0.0

    with pytest.raises(UnsupportedConstruct, match="partial_eval"):
        Workload.from_proc(sized)


def test_workload_from_spec_name():
    w = Workload.from_spec("gemm_512x512x512")
    assert w.algorithm.name() == "gemm_512x512x512"
    assert w.param("C").shape == (512, 512)
