"""Planning, implementation and repair prompts, rendered from the template files here.

All prose lives in the ``*.txt`` templates, ``feedback.toml``, ``c_subset.toml`` and
``menu.toml`` next to this module; this module only fills in the fields
(``string.Template`` syntax, ``${name}``). Every fact is generated: the ISA section
from `gemmini.isa.SPECS`, the hardware parameters and the cost table from the active
`GemminiConfig` and its `TimingParams`, the C subset from the grammar (checked by the
parser, `c_subset`), the feedback from the model's report.

Static text comes first and volatile text last, so that provider prompt caches hit:
the system message (role, ISA, hardware parameters, cost table, C subset, rules,
worked examples) depends only on the configuration and the prompt settings and is the
same for planning, implementation and repair; the user message holds what changes
(code, feedback, earlier attempts, the menu after dropout, the plan). Nothing in a
prompt depends on the iteration count, so a resumed run with other limits hits the
LLM cache. docs/prompts.md describes every section.
"""

from __future__ import annotations

import random
import string
import tomllib
from functools import lru_cache
from pathlib import Path

from autocomp_exo.prompts import c_subset
from autocomp_exo.proposers.base import Attempt, Candidate, Feedback, MenuItem, Plan
from gemmini.config import GemminiConfig, get_config
from gemmini.errors import ConfigError
from gemmini.isa import SPECS, summary_fields

HERE = Path(__file__).resolve().parent
KINDS = ("gemm", "conv", "linalg")
DEFAULT_ISA_EXCLUDE = ("loop_ws",)
ENGINES = ("cpu", "load", "execute", "store")


@lru_cache(maxsize=None)
def template(name: str) -> string.Template:
    """The template file ``name`` (without ``.txt``) of this directory."""
    return string.Template((HERE / f"{name}.txt").read_text())


@lru_cache(maxsize=None)
def prose() -> dict:
    """``feedback.toml``: the prose of feedback, history and hint lines."""
    return tomllib.loads((HERE / "feedback.toml").read_text())


def render(name: str, **fields) -> str:
    """Render template ``name``; a missing field is an error (KeyError naming it)."""
    return template(name).substitute(fields)


def _fill(text: str, **fields) -> str:
    return string.Template(text).substitute(fields)


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


# -- the static part ---------------------------------------------------------


def isa_text(config: GemminiConfig | str | None = None,
             exclude: tuple[str, ...] = DEFAULT_ISA_EXCLUDE) -> str:
    """The ISA section for ``config``: memory layout numbers and one line per instruction
    (every compact spelling, what omitted operands mean, and the summary, all from
    `gemmini.isa.SPECS`)."""
    cfg = get_config(config)
    phrases = summary_fields(cfg.in_dtype)
    lines = []
    for op, spec in SPECS.items():
        if op in exclude:
            continue
        sigs = spec.signatures()
        line = f"- {' or '.join(sigs)}: {spec.summary.format(**phrases)}"
        defaults = spec.omitted_defaults()
        if len(sigs) > 1 and defaults:
            line += " Omitted operands: " + ", ".join(
                f"{name} = {cfg.dim if value == 'DIM' else value}" for name, value in defaults) + "."
        lines.append(line)
    return render("isa", instructions="\n".join(lines), **hw_fields(cfg))


def hw_fields(cfg: GemminiConfig) -> dict:
    """The configuration's numbers the templates quote."""
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


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def cost_fields(cfg: GemminiConfig) -> dict:
    """The timing parameters and the costs derived from them (one block moved, a
    conflicting compute), as the cost table shows them."""
    tp = cfg.timing
    fields = {f: getattr(tp, f) for f in tp.__dataclass_fields__}
    fields["bank_conflict_factor"] = f"{tp.bank_conflict_factor:g}"
    block = cfg.dim * cfg.dim
    fields.update(
        conflict_cycles=int(round(tp.block_cycles * tp.bank_conflict_factor)),
        sp_block_cycles=_ceil(block * cfg.in_bytes, tp.dma_bytes_per_cycle),
        acc_block_cycles=_ceil(block * cfg.acc_bytes, tp.dma_bytes_per_cycle),
        store_block_cycles=tp.store_pipeline + max(
            _ceil(cfg.dim, tp.store_rows_per_cycle),
            _ceil(block * cfg.in_bytes, tp.dma_bytes_per_cycle)),
        # an optional line of the table (``costs_acc_port.txt``), when the model charges it
        acc_port_line=("\n" + template("costs_acc_port").template.rstrip("\n")
                       if tp.acc_port_contention else ""),
    )
    return fields


def cost_text(config: GemminiConfig | str | None = None) -> str:
    """The cost table: what the model charges for each kind of work (``costs.txt``)."""
    cfg = get_config(config)
    return render("costs", **cost_fields(cfg), **hw_fields(cfg))


def c_subset_text() -> str:
    """The accepted C subset (``c_subset.txt``, lists from `c_subset.fields`)."""
    return render("c_subset", **c_subset.fields())


def system_text(config: GemminiConfig | str | None = None, *, example: bool = False,
                isa_exclude: tuple[str, ...] = DEFAULT_ISA_EXCLUDE) -> str:
    """The static system message shared by every prompt of a run (module doc)."""
    cfg = get_config(config)
    parts = [template("system").template.strip(), isa_text(cfg, isa_exclude).strip(),
             render("hardware", **hw_fields(cfg)).strip(), cost_text(cfg).strip(),
             c_subset_text().strip(), template("rules").template.strip(),
             render("example_reuse", dim=cfg.dim).strip()]
    if example:
        parts.append(render("example_tiling", dim=cfg.dim).strip())
    return "\n\n".join(parts)


def _kib(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


# -- the volatile part -------------------------------------------------------


def _n(x) -> str:
    return f"{int(x):,}"


def feedback_text(fb: Feedback, config: GemminiConfig | str | None = None) -> str:
    """Hardware feedback: cycles against the ideal, the engines ranked by busy cycles with
    their margins to the total, the causes of lost cycles, the instruction mix, and the
    memory use "X KB out of Y KB". Parts the report lacks are left out."""
    cfg = get_config(config)
    p = prose()
    d = fb.details if isinstance(fb.details, dict) else {}
    busy = d.get("busy") if isinstance(d.get("busy"), dict) else {}
    engines = ""
    if busy:
        ranked = sorted(busy, key=lambda e: (-busy[e], ENGINES.index(e) if e in ENGINES else 9))
        lines = [p["engines_head"]] + [
            _fill(p["engine"], engine=e, busy=_n(busy[e]), margin=_n(fb.cycles - busy[e]),
                  margin_pct=f"{100 * (fb.cycles - busy[e]) / max(fb.cycles, 1):.1f}")
            for e in ranked]
        engines = "\n".join(lines) + "\n"
    causes = "".join(
        _fill(text, n=_n(d[name]), **cost_fields(cfg)) + "\n"
        for name, text in p["causes"].items() if d.get(name) is not None)
    counts = d.get("counts") if isinstance(d.get("counts"), dict) else {}
    count_line = ""
    if counts:
        shown = ", ".join(f"{k} {_n(v)}" for k, v in counts.items() if v)
        count_line = _fill(p["counts"], counts=shown or "none") + "\n"
    ideal = d.get("ideal_cycles")
    return render("feedback", cycles=_n(fb.cycles), utilization=f"{100 * fb.utilization:.1f}",
                  ideal=_n(ideal) if ideal is not None else "unknown",
                  bound=fb.bound or "unknown", engines=engines, causes=causes,
                  counts=count_line, sp_used=_kib(fb.sp_kib_used),
                  sp_total=_kib(fb.sp_kib_total), acc_used=_kib(fb.acc_kib_used),
                  acc_total=_kib(fb.acc_kib_total)).rstrip()


def history_text(history: tuple[Attempt, ...], numbers: dict[str, int] | None = None) -> str:
    """The earlier attempts on a candidate and its ancestors (empty when there are none)."""
    if not history:
        return ""
    p = prose()
    numbers = numbers or {}
    lines = []
    for a in history:
        item = (f"{numbers[a.menu_item]} ({a.menu_item})" if a.menu_item in numbers
                else a.menu_item or "none")
        lines.append(_fill(p["outcomes"]["attempt"], on=a.on.capitalize(),
                           iteration=a.iteration, item=item,
                           outcome=p["outcomes"].get(a.outcome, a.outcome),
                           detail=f": {a.detail}" if a.detail else "",
                           plan=a.plan or "-"))
    return render("history", attempts="\n".join(lines)).rstrip() + "\n\n"


HINT_CONDITIONS = {
    "scratchpad_mostly_free": lambda fb, below: bool(fb.sp_kib_total)
    and fb.sp_kib_used < below * fb.sp_kib_total,
    "accumulator_mostly_free": lambda fb, below: bool(fb.acc_kib_total)
    and fb.acc_kib_used < below * fb.acc_kib_total,
}


def hints_text(fb: Feedback, menu: list[MenuItem], nudge_below: float = 0.5) -> str:
    """Hints for the offered menu: each hint of ``feedback.toml`` whose condition holds and
    whose menu items include an offered one, naming the offered ones by number."""
    offered = {m.key: m.number for m in menu}
    lines = []
    for hint in prose().get("hint", []):
        cond = HINT_CONDITIONS.get(hint["when"])
        if cond is None:
            raise ConfigError(f"unknown hint condition {hint['when']!r}",
                              filename=str(HERE / "feedback.toml"))
        numbers = sorted(offered[k] for k in hint["keys"] if k in offered)
        if numbers and cond(fb, nudge_below):
            label = "item" if len(numbers) == 1 else "items"
            lines.append(_fill(hint["text"], items=f"{label} {', '.join(map(str, numbers))}"))
    return "".join(line + "\n" for line in lines)


def plan_messages(candidate: Candidate, menu: list[MenuItem], *, config=None,
                  example: bool = False, isa_exclude: tuple[str, ...] = DEFAULT_ISA_EXCLUDE,
                  numbers: dict[str, int] | None = None) -> list[dict]:
    """Chat messages of the planning prompt: the static system message, then the code,
    its feedback, the earlier attempts, the offered menu with its hints, the task.
    ``numbers``: menu key -> number of the full menu (to name earlier attempts' items)."""
    cfg = get_config(config)
    user = render("plan", code=candidate.code.strip(),
                  feedback=feedback_text(candidate.feedback, cfg),
                  history=history_text(candidate.history, numbers),
                  menu=menu_text(menu), hints=hints_text(candidate.feedback, menu))
    return [_system(cfg, example, isa_exclude), {"role": "user", "content": user}]


def implement_messages(candidate: Candidate, plan: Plan, menu_item: MenuItem | None, *,
                       config=None, example: bool = False,
                       isa_exclude: tuple[str, ...] = DEFAULT_ISA_EXCLUDE) -> list[dict]:
    """Chat messages of the implementation prompt: the static system message, then the
    code, the plan and the task."""
    cfg = get_config(config)
    user = render("implement", code=candidate.code.strip(),
                  menu_text=menu_item.text if menu_item else "", plan=plan.text.strip())
    return [_system(cfg, example, isa_exclude), {"role": "user", "content": user}]


def repair_messages(messages: list[dict], answer: str, error: str) -> list[dict]:
    """The conversation extended with the rejected answer and a request to fix it."""
    return [*messages, {"role": "assistant", "content": answer},
            {"role": "user", "content": render("repair", error=error.strip())}]


def _system(cfg: GemminiConfig, example: bool, isa_exclude: tuple[str, ...]) -> dict:
    return {"role": "system",
            "content": system_text(cfg, example=example, isa_exclude=tuple(isa_exclude))}
