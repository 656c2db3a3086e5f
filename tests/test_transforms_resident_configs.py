"""resident with hoist: a load hoisted out of its loop takes the load configuration that
governs it inside the loop along (else the model rejects the program: a move before any
configuration of its load state, or one with another stride or scale)."""

import numpy as np
import pytest

from autocomp_exo.transforms import registry
from autocomp_exo.transforms.base import NotApplicable
from gemmini import model
from gemmini.config import get_config
from gemmini.ir import Instr
from lowering.parser import parse_c

CFG = get_config("fp32_4")

# y[s] = -M u[s]: M (loaded with scale -1 under load state 0) is loaded once, guarded
KERNEL = """
void k(const float M[4][4], const float u[4][4][1], float y[4][4][1]) {
  config_ex(WEIGHT_STATIONARY, 0, 1, 0, 0);
  config_st(4, 0, 1.0f);
  for (int s = 0; s < 4; s++) {
    config_ld(4, 1.0f, 0);
    mvin(&u[s][0][0], 16, 1, 4);
    CONFIG
    if (s == 0) {
      mvin(&M[0][0], 0, 4, 4);
    }
    preload(16, 0x80000000, 1, 4, 1, 4);
    compute_preloaded(0, ~((uint32_t)0), 4, 4, 4, 4);
    mvout(&y[s][0][0], 0x80000000, 1, 4);
  }
  fence();
}
"""


def hoist(fn):
    apps = [a for a in registry.applications(fn, CFG, ["resident"]) if a.p.get("unguard")]
    assert apps, "resident offers the hoist"
    return registry.apply(fn, apps[0], CFG)


def test_the_hoisted_load_takes_its_configuration_along():
    fn = parse_c(KERNEL.replace("CONFIG", "config_ld(16, -1.0f, 0);"))
    new = hoist(fn)
    loop = next(i for i, s in enumerate(new.body) if not isinstance(s, Instr))
    top = list(new.body[:loop])
    assert [s.op for s in top][-3:] == ["config_st", "config_ld", "mvin"]
    assert top[-2].args[1].value == -1.0
    rng = np.random.default_rng(0)
    m = rng.standard_normal((4, 4)).astype(np.float32)
    u = rng.standard_normal((4, 4, 1)).astype(np.float32)
    out = model.run(new, {"M": m, "u": u, "y": np.zeros((4, 4, 1), np.float32)}, CFG,
                    timing=False).outputs
    np.testing.assert_allclose(out["y"][:, :, 0], -(u[:, :, 0] @ m.T), rtol=1e-5, atol=1e-5)


def test_a_state_used_before_the_loop_configures_it_is_refused():
    """The move of u uses load state 0 before the loop's configuration of M: issuing
    M's configuration before the loop would change what that first move reads."""
    fn = parse_c(KERNEL.replace("    config_ld(4, 1.0f, 0);\n", "").replace(
        "CONFIG", "config_ld(16, -1.0f, 0);").replace(
        "  for (int s", "  config_ld(4, 1.0f, 0);\n  for (int s"))
    apps = [a for a in registry.applications(fn, CFG, ["resident"]) if a.p.get("unguard")]
    assert apps
    for a in apps:
        with pytest.raises(NotApplicable, match="after its first use"):
            registry.apply(fn, a, CFG)
