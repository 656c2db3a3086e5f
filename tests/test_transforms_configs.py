"""load_state: a class of identical load configurations on a load state of its own, issued
once. Outputs are checked on the model against numpy copies worked out by hand."""

import numpy as np
import pytest

from autocomp_exo.transforms import registry
from autocomp_exo.transforms.base import Application, NotApplicable
from gemmini import model
from gemmini.config import get_config
from gemmini.ir import Instr, walk_stmts
from lowering.parser import parse_c

CFG = get_config("fp32_4")

TWO_STRIDES = """
void k(const float x[4][4], const float A[4][12], float y[4][4], float z[4][4]) {
  config_st(16, 0, 1.0f);
  for (int t = 0; t < 4; t++) {
    config_ld(16, 1.0f, 0);
    mvin(&x[t][0], 0x80000000, 4, 1);
    config_ld(48, -1.0f, 0);
    mvin(&A[0][4], 0x80000004, 4, 4);
    mvout(&y[t][0], 0x80000000, 4, 1);
    mvout(&z[0][0], 0x80000004, 4, 4);
  }
  fence();
}
"""


def load_state(fn, site, state):
    return registry.apply(fn, Application("load_state", site, (("state", state),)), CFG)


def run(fn):
    x = np.arange(16, dtype=np.float32).reshape(4, 4) + 0.5
    a = np.arange(48, dtype=np.float32).reshape(4, 12) - 20
    out = model.run(fn, {"x": x, "A": a, "y": np.zeros((4, 4), np.float32),
                         "z": np.zeros((4, 4), np.float32)}, CFG, timing=False).outputs
    np.testing.assert_array_equal(out["y"], x)
    np.testing.assert_array_equal(out["z"], -a[:, 4:8])


def ops(fn):
    return [s.op for s in walk_stmts(fn.body) if isinstance(s, Instr)]


def test_a_class_moves_to_a_free_state_and_is_issued_once():
    fn = parse_c(TWO_STRIDES)
    run(fn)
    new = load_state(fn, (1, 2), 1)
    assert new.body[0].op == "config_ld" and ops(new).count("config_ld") == 2
    assert "mvin2" in ops(new) and ops(new).count("mvin") == 1
    run(new)
    # the remaining class is now alone on state 0: it can go to the top too
    top = load_state(new, (2, 0), 0)
    assert ops(top)[:2] == ["config_ld", "config_ld"] and ops(top).count("config_ld") == 2
    run(top)


def test_a_state_shared_with_another_configuration_is_refused():
    fn = parse_c(TWO_STRIDES)
    with pytest.raises(NotApplicable, match="other configurations"):
        load_state(fn, (1, 0), 0)
    used = parse_c(TWO_STRIDES.replace("mvout(&y", "config_ld(4, 1.0f, 1);\n    mvout(&y"))
    with pytest.raises(NotApplicable, match="in use"):
        load_state(used, (1, 2), 1)


def test_a_move_read_by_the_class_in_some_executions_only_is_refused():
    """The x load of iteration t > 0 reads the A configuration of iteration t - 1, the
    first one reads the configuration before the loop: moving the class would change
    one of them."""
    fn = parse_c(TWO_STRIDES.replace("""    config_ld(16, 1.0f, 0);
    mvin(&x""", """    mvin(&x""").replace("  for (int t", "  config_ld(16, 1.0f, 0);\n  for (int t"))
    with pytest.raises(NotApplicable, match="some executions"):
        load_state(fn, (2, 1), 1)


def test_find_offers_free_states_and_the_own_state_when_alone():
    fn = parse_c(TWO_STRIDES)
    apps = registry.applications(fn, CFG, ["load_state"])
    assert sorted((a.site, a.p["state"]) for a in apps) == [
        ((1, 0), 1), ((1, 0), 2), ((1, 2), 1), ((1, 2), 2)]


def test_the_prompt_states_the_fp32_facts_of_its_configuration():
    """DIM, element types and sizes come from the configuration, the instructions from
    the ISA table (all three load states exist): nothing of int8_16 leaks in."""
    from autocomp_exo.prompts.builder import system_text
    text = system_text("fp32_4")
    assert "Array: 4x4; input elements: float32 (4-byte); accumulator elements:\n" \
           "float32 (4-byte)" in text
    assert "16x16" not in text and "int8 inputs" not in text
    assert all(f"- {op}(" in text for op in ("mvin", "mvin2", "mvin3", "mvout", "fence"))


def test_the_store_summary_follows_the_element_type():
    """An fp32 mvout multiplies by the store scale and writes floats (lowering/emulator's
    fp32 semantics): no integer rounding or saturation; int8 stores round and saturate."""
    from autocomp_exo.prompts.builder import isa_text
    fp32 = next(line for line in isa_text("fp32_4").splitlines() if line.startswith("- mvout("))
    int8 = next(line for line in isa_text("int8_16").splitlines() if line.startswith("- mvout("))
    assert "saturat" not in fp32 and "half-to-even" not in fp32 and "float32" in fp32
    assert "saturated to int8" in int8 and "half-to-even" in int8


def test_one_store_configuration_everywhere_is_issued_once():
    fn = parse_c(TWO_STRIDES.replace("  config_st(16, 0, 1.0f);\n  for", "  for").replace(
        "    mvout(&y", "    config_st(16, 0, 1.0f);\n    mvout(&y"))
    new = registry.apply(fn, Application("store_config", (0, 4)), CFG)
    assert new.body[0].op == "config_st" and ops(new).count("config_st") == 1
    run(new)
    other = parse_c(TWO_STRIDES.replace("    mvout(&z", "    config_st(16, 0, 2.0f);\n"
                                        "    mvout(&z"))
    assert registry.applications(other, CFG, ["store_config"]) == []
    with pytest.raises(NotApplicable, match="differ"):
        registry.apply(other, Application("store_config", (0,)), CFG)
