"""Workload definitions: algorithm procs, the suite, and Workload recognition."""

from __future__ import annotations

import pytest

from lowering.workload import Workload, is_mapped, kind_of, proc_signature
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
    assert kind_of(p) == "gemm" and not is_mapped(p)


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


def test_workload_from_proc_recognizes_algorithm():
    w = Workload.from_proc(wl.gemm_algorithm(20, 24, 36))
    assert (w.name, w.kind, w.shape, w.macs) == \
        ("gemm_20x24x36", "gemm", {"M": 20, "N": 24, "K": 36}, 20 * 24 * 36)
    assert w.outputs == ("C",) and w.mapped is None
    assert [p.name for p in w.inputs] == ["A", "B"]
    assert w.settings == [{"act": False}, {"act": True}]
    wc = Workload.from_proc(wl.conv_algorithm(2, 6, 16, 32))
    assert wc.kind == "conv" and wc.shape == {"batch": 2, "in_dim": 6, "in_ch": 16,
                                              "out_ch": 32}
    assert wc.macs == 2 * 4 * 4 * 32 * 9 * 16


def test_workload_from_proc_rejects_other_procs():
    from exo import DRAM, proc  # noqa: F401  (DRAM is read by the @proc parser)

    @proc
    def not_a_gemm(n: size, x: i8[n] @ DRAM):
        for i in seq(0, n):
            x[i] = 0.0

    with pytest.raises(UnsupportedConstruct, match="neither a GEMM"):
        Workload.from_proc(not_a_gemm.partial_eval(4))


def test_workload_from_proc_rejects_inconsistent_shapes():
    from exo import DRAM, proc  # noqa: F401  (DRAM is read by the @proc parser)

    @proc
    def bad(scale: f32, act: bool, A: i8[4, 8] @ DRAM, B: i8[9, 4] @ DRAM,
            C: i8[4, 4] @ DRAM):
        pass

    with pytest.raises(UnsupportedConstruct, match="do not agree"):
        Workload.from_proc(bad)


def test_workload_from_spec_name():
    w = Workload.from_spec("gemm_512x512x512")
    assert w.algorithm.name() == "gemm_512x512x512"
    assert w.param("C").shape == (512, 512)
