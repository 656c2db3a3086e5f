"""Independent numpy references of the workloads, shared by the tests.

Hardware semantics (gemmini.md section 3): int32 accumulation, float32 scale, round half
to even (np.rint), saturation to int8, then ReLU when ``act``.
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
