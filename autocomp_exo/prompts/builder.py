"""Planning, implementation and repair prompts, rendered from the template files here.

All prose lives in the ``*.txt`` templates and ``menu.toml`` next to this module;
this module only fills in the fields (``string.Template`` syntax, ``${name}``).
The ISA section is generated from `gemmini.isa.SPECS` and the active
`GemminiConfig`, so it is right for every configuration.
"""

from __future__ import annotations

import random
import string
import tomllib
from functools import lru_cache
from pathlib import Path

from autocomp_exo.proposers.base import Candidate, Feedback, MenuItem, Plan
from gemmini.config import GemminiConfig, get_config
from gemmini.isa import SPECS
from gemmini.errors import ConfigError

HERE = Path(__file__).resolve().parent
KINDS = ("gemm", "conv", "linalg")
DEFAULT_ISA_EXCLUDE = ("loop_ws",)


@lru_cache(maxsize=None)
def template(name: str) -> string.Template:
    """The template file ``name`` (without ``.txt``) of this directory."""
    return string.Template((HERE / f"{name}.txt").read_text())


def render(name: str, **fields) -> str:
    """Render template ``name``; a missing field is an error (KeyError naming it)."""
    return template(name).substitute(fields)


def load_menu(kind: str = "gemm", path: str | Path | None = None) -> list[MenuItem]:
    """The full menu for workload ``kind`` (gemm, conv or linalg), from ``menu.toml``."""
    src = Path(path) if path else HERE / "menu.toml"
    if kind not in KINDS:
        raise ConfigError(f"unknown workload kind {kind!r} (known: {', '.join(KINDS)})")
    try:
        data = tomllib.loads(src.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read menu: {e}", filename=str(src)) from None
    items = []
    for entry in data.get("item", []):
        unknown = set(entry) - {"number", "key", "text", "kinds"}
        if unknown:
            raise ConfigError(f"unknown menu key {sorted(unknown)[0]!r}", filename=str(src))
        if kind in entry.get("kinds", KINDS):
            items.append(MenuItem(int(entry["number"]), str(entry["key"]), str(entry["text"])))
    return sorted(items, key=lambda m: m.number)


def dropout(menu: list[MenuItem], p: float, rng: random.Random) -> list[MenuItem]:
    """Drop each item independently with probability ``p``; never return an empty menu."""
    kept = [m for m in menu if rng.random() >= p]
    return kept or [rng.choice(menu)]


def menu_text(menu: list[MenuItem]) -> str:
    return "\n".join(f"{m.number}. {m.text}" for m in menu)


def isa_text(config: GemminiConfig | str | None = None,
             exclude: tuple[str, ...] = DEFAULT_ISA_EXCLUDE) -> str:
    """The ISA section for ``config``: memory layout numbers and one line per instruction
    (its signature and summary from `gemmini.isa.SPECS`)."""
    cfg = get_config(config)
    lines = [f"- {spec.signature()}: {spec.summary}" for op, spec in SPECS.items()
             if op not in exclude]
    return render("isa", instructions="\n".join(lines), **_hw_fields(cfg))


def _hw_fields(cfg: GemminiConfig) -> dict:
    return dict(
        dim=cfg.dim, in_type=cfg.in_dtype, acc_type=cfg.acc_dtype,
        in_bytes=cfg.in_bytes, acc_bytes=cfg.acc_bytes,
        sp_kib=_kib(cfg.sp_kib), sp_rows=cfg.sp_rows, sp_row_bytes=cfg.sp_row_bytes,
        sp_banks=cfg.sp_banks, sp_bank_rows=cfg.sp_bank_rows,
        acc_kib=_kib(cfg.acc_kib), acc_rows=cfg.acc_rows, acc_row_bytes=cfg.acc_row_bytes,
        acc_banks=cfg.acc_banks, acc_bank_rows=cfg.acc_bank_rows,
        max_sp_cols=cfg.max_mvin_blocks_sp * cfg.dim,
        max_acc_cols=cfg.max_mvin_blocks_acc * cfg.dim,
        max_out_cols=cfg.max_mvout_blocks * cfg.dim,
    )


def _kib(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def feedback_text(fb: Feedback, nudge_below: float = 0.5) -> str:
    """Hardware feedback: cycles, memory use "X KB out of Y KB", nudges, bounding resource."""
    extra = []
    if fb.sp_kib_total and fb.sp_kib_used < nudge_below * fb.sp_kib_total:
        extra.append(template("nudge_scratchpad").template.strip())
    if fb.acc_kib_total and fb.acc_kib_used < nudge_below * fb.acc_kib_total:
        extra.append(template("nudge_accumulator").template.strip())
    busy = fb.details.get("busy") if isinstance(fb.details, dict) else None
    if isinstance(busy, dict) and busy:
        extra.insert(0, render("feedback_busy", busy=", ".join(
            f"{k} {v}" for k, v in busy.items())).rstrip())
    return render("feedback", cycles=fb.cycles,
                  utilization=f"{100 * fb.utilization:.1f}",
                  bound=fb.bound or "unknown", sp_used=_kib(fb.sp_kib_used),
                  sp_total=_kib(fb.sp_kib_total), acc_used=_kib(fb.acc_kib_used),
                  acc_total=_kib(fb.acc_kib_total), extra="\n".join(extra)).rstrip()


def plan_messages(candidate: Candidate, menu: list[MenuItem], *, config=None,
                  iteration: int, total_iterations: int,
                  isa_exclude: tuple[str, ...] = DEFAULT_ISA_EXCLUDE) -> list[dict]:
    """Chat messages of the planning prompt (method.md section 2, in order)."""
    cfg = get_config(config)
    user = render("plan", isa=isa_text(cfg, isa_exclude), code=candidate.code.strip(),
                  feedback=feedback_text(candidate.feedback), menu=menu_text(menu),
                  rules=template("rules").template.strip(), iteration=iteration,
                  total_iterations=total_iterations, **_hw_fields(cfg))
    return [_system(), {"role": "user", "content": user}]


def implement_messages(candidate: Candidate, plan: Plan, menu_item: MenuItem | None, *,
                       config=None, example: bool = False,
                       isa_exclude: tuple[str, ...] = DEFAULT_ISA_EXCLUDE) -> list[dict]:
    """Chat messages of the implementation prompt (method.md section 3, in order)."""
    cfg = get_config(config)
    example_text = render("example_tiling", dim=cfg.dim) if example else ""
    user = render("implement", isa=isa_text(cfg, isa_exclude), code=candidate.code.strip(),
                  menu_text=menu_item.text if menu_item else "",
                  plan=plan.text.strip(), example=example_text,
                  rules=template("rules").template.strip())
    return [_system(), {"role": "user", "content": user}]


def repair_messages(messages: list[dict], answer: str, error: str) -> list[dict]:
    """The conversation extended with the rejected answer and a request to fix it."""
    return [*messages, {"role": "assistant", "content": answer},
            {"role": "user", "content": render("repair", error=error.strip())}]


def _system() -> dict:
    return {"role": "system", "content": template("system").template.strip()}
