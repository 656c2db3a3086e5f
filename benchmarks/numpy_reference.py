"""Independent numpy references of the workloads, for the benchmarks' checks and the tests.

Hardware semantics (docs/hardware.md section 3): int32 accumulation, float32 scale, round
half to even (np.rint), saturation to int8, then ReLU when ``act``. Written from the
hardware description alone, sharing no code with `lowering.reference` or the model.
"""

import numpy as np


def scale_to_int8(acc, scale, act):
    """The mvout path: float32 multiply, round half to even, saturate, optional ReLU."""
    out = np.clip(np.rint(np.asarray(acc, np.int32).astype(np.float32) * np.float32(scale)),
                  -128, 127).astype(np.int8)
    return np.maximum(out, 0) if act else out


def numpy_gemm(A, B, scale, act, bias=None):
    """C = act(clamp(round(scale * (A @ B (+ bias)))))."""
    acc = A.astype(np.int32) @ B.astype(np.int32)
    if bias is not None:
        acc = acc + bias
    return scale_to_int8(acc, scale, act)


def numpy_conv(inp, w, bias, scale, act):
    """3x3, stride 1, unpadded NHWC convolution with int32 bias, scaled like a GEMM."""
    od = inp.shape[1] - 2
    acc = np.zeros((inp.shape[0], od, od, w.shape[3]), np.int64) + bias.reshape(1, 1, 1, -1)
    for kr in range(3):
        for kc in range(3):
            acc += np.einsum("brci,io->brco", inp[:, kr:kr + od, kc:kc + od].astype(np.int64),
                             w[kr, kc].astype(np.int64))
    return scale_to_int8(acc.astype(np.int32), scale, act)


def inputs_and_expect(params, seed: int, act: bool):
    """Random inputs for a GEMM or conv signature (`gemmini.ir.Param`s), the name of its
    output and numpy's expected output: ``(inputs, output_name, expected)``."""
    rng = np.random.default_rng(seed)
    shapes = {p.name: p.shape for p in params}
    if "A" in shapes:
        (M, K), (_, N) = shapes["A"], shapes["B"]
        A = rng.integers(-128, 128, (M, K), dtype=np.int8)
        B = rng.integers(-128, 128, (K, N), dtype=np.int8)
        scale = np.float32(1.0 / (K * 24))
        return ({"A": A, "B": B, "scale": scale, "act": act}, "C",
                numpy_gemm(A, B, scale, act))
    inp = rng.integers(-128, 128, shapes["inp"], dtype=np.int8)
    w = rng.integers(-128, 128, shapes["weights"], dtype=np.int8)
    bias = rng.integers(-20000, 20000, shapes["bias"], dtype=np.int32)
    scale = np.float32(1.0 / (shapes["inp"][3] * 200))
    return ({"inp": inp, "weights": w, "bias": bias, "scale": scale, "act": act}, "output",
            numpy_conv(inp, w, bias, scale, act))
