"""The public entry point: ``optimize(proc) -> OptimizeResult``."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from autocomp_exo.deprecation import renamed
from autocomp_exo.proposers.base import Proposer
from autocomp_exo.settings import Settings, from_dict, load_settings, to_dict
from gemmini import ir
from gemmini.config import DEFAULT_CONFIG, GemminiConfig
from gemmini.errors import ConfigError, ParseError
from lowering.signature import read_signature


@dataclass(frozen=True)
class Budget:
    """Limits of one optimization run (None = unlimited)."""
    max_samples: int | None = None      # candidates evaluated
    max_seconds: float | None = None    # wall clock
    max_tokens: int | None = None       # LLM tokens (prompt + completion)
    max_usd: float | None = None        # LLM spend, with prices from the model settings


@dataclass
class OptimizeResult:
    """The best code found and how the search got there."""
    name: str
    fn: ir.Function
    code: str                            # compact C
    toolchain_code: str | None           # complete .c with Exo's signature
    cycles: int
    start_cycles: int
    utilization: float | None
    trajectory: list[int]                # best cycles after each iteration
    recipe: list[dict]                   # ordered plans (menu item keys) from start to best
    stop_reason: str
    samples: int
    run_dir: str | None = None
    usage: dict = field(default_factory=dict)
    header: str | None = None

    @property
    def speedup(self) -> float:
        return self.start_cycles / self.cycles if self.cycles else float("nan")

    @property
    def recipe_items(self) -> list[str]:
        """The menu item keys of `recipe`, in order (what `reuse_schedule` replays)."""
        return [step["menu_item"] for step in self.recipe]

    def write(self, directory: str | Path) -> tuple[Path, Path]:
        """Write ``NAME.c`` and ``NAME.h`` (Exo's function signature) into ``directory``."""
        from autocomp_exo.runs import atomic_write
        d = Path(directory)
        c_path, h_path = d / f"{self.name}.c", d / f"{self.name}.h"
        atomic_write(c_path, self.toolchain_code or self.code)
        atomic_write(h_path, self.header or header_text(self.fn, self.name))
        return c_path, h_path


_CTYPES = {"i8": "int8_t", "i32": "int32_t", "f32": "float", "bool": "bool"}


def prototype(fn: ir.Function) -> str:
    """The C prototype of ``fn`` (Exo's conventions: flat const pointers, ``const float*``)."""
    args = [f"{fn.context} *ctxt"] if fn.context else []
    for p in fn.params:
        ctype = _CTYPES.get(p.dtype, "int32_t")
        const = "const " if p.const and (p.is_array or p.by_pointer) else ""
        if p.is_array and not p.flat:
            dims = "".join(f"[{d}]" for d in p.shape)
            args.append(f"{const}{ctype} {p.name}{dims}")
        elif p.is_array or p.by_pointer:
            args.append(f"{const}{ctype}* {p.name}")
        else:
            args.append(f"{ctype} {p.name}")
    return f"void {fn.name}( {', '.join(args)} );"


def header_text(fn: ir.Function, name: str) -> str:
    """A header with an include guard, stdint/stdbool and the prototype of ``fn``."""
    guard = f"{name.upper()}_H"
    lines = [f"#ifndef {guard}", f"#define {guard}", "", "#include <stdint.h>",
             "#include <stdbool.h>", ""]
    if fn.context:
        lines += [f"typedef struct {fn.context} {{ int unused; }} {fn.context};", ""]
    lines += [prototype(fn), "", f"#endif  // {guard}", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------


@dataclass
class _Start:
    item: Any                            # code text or IR for the evaluator
    evaluator: Any
    name: str
    kind: str = "gemm"
    header: str | None = None
    macs: int | None = None


def _resolve_settings(settings) -> Settings:
    if settings is None:
        return Settings()
    if isinstance(settings, Settings):
        return settings
    if isinstance(settings, (str, Path)):
        return load_settings(settings)
    if isinstance(settings, dict):
        return from_dict(Settings, settings, where="<settings dict>")
    raise ConfigError(f"settings must be Settings, a TOML path or a dict, not {type(settings)}")


def _apply_budget(s: Settings, budget: Budget | None) -> Settings:
    if budget is None:
        return s
    search = dataclasses.replace(
        s.search,
        max_samples=budget.max_samples if budget.max_samples is not None else s.search.max_samples,
        max_seconds=budget.max_seconds if budget.max_seconds is not None else s.search.max_seconds)
    llm = dataclasses.replace(
        s.llm,
        max_tokens_total=budget.max_tokens if budget.max_tokens is not None
        else s.llm.max_tokens_total,
        max_usd=budget.max_usd if budget.max_usd is not None else s.llm.max_usd)
    return dataclasses.replace(s, search=search, llm=llm)


def _start_from(proc, s: Settings, evaluator) -> _Start:
    """What to search from, and how to evaluate it."""
    if evaluator is not None:
        name = proc.name if isinstance(proc, ir.Function) else "kernel"
        if isinstance(proc, str):
            try:
                name = read_signature(proc, require_shapes=False).name
            except ParseError:
                pass   # the evaluator reports unreadable C; only the run's name falls back
        return _Start(proc, evaluator, name, kind=s.prompts.workload_kind)
    if isinstance(proc, (str, ir.Function)):
        raise ConfigError("optimizing C text or IR needs an evaluator (or a workload: "
                          "see autocomp_exo.evaluation.ModelEvaluator)")
    from autocomp_exo.evaluation import ModelEvaluator
    from lowering.workload import Workload
    workload = Workload.from_proc(proc)
    exo_c = workload.mapped_c()
    ev = ModelEvaluator.for_workload(workload, s.evaluation.gemmini,
                                     kinds=s.evaluation.input_kinds,
                                     seeds=s.evaluation.input_seeds)
    return _Start(exo_c.c_text, ev, exo_c.name, kind=workload.kind, header=exo_c.h_text,
                  macs=workload.macs)


LLM_PROPOSERS = ("llm", "ensemble", "exchange")


def build_proposer(s: Settings, client, menu) -> Proposer:
    """The proposer named by ``s.proposer`` (builtin, llm, ensemble or exchange; with
    ``llm.exchange_dir`` set, the LLM members answer through that directory)."""
    members: list = []
    if s.proposer in ("builtin", "ensemble"):
        members.append(_builtin(s.evaluation.gemmini))
    if s.proposer in LLM_PROPOSERS:
        from autocomp_exo.proposers import exchange
        from autocomp_exo.proposers.llm import LLMProposer
        models, cls = s.llm.models, LLMProposer
        if exchange.uses_exchange(s.proposer, s.llm):
            models, cls = exchange.exchange_models(s.llm), exchange.ExchangeProposer
        client.check_models(models)
        members += [cls(client, m, menu, gemmini=s.evaluation.gemmini, prompts=s.prompts)
                    for m in models]
    if not members:
        raise ConfigError(f"unknown proposer {s.proposer!r} "
                          "(known: builtin, llm, ensemble, exchange)")
    if len(members) == 1:
        return members[0]
    from autocomp_exo.proposers.ensemble import EnsembleProposer
    return EnsembleProposer(members)


def _builtin(gemmini: str | GemminiConfig = DEFAULT_CONFIG) -> Proposer:
    try:
        from autocomp_exo.proposers.builtin import BuiltinProposer
    except ImportError as e:
        raise ConfigError(f"the built-in proposer is not available ({e}); pass proposer=... "
                          "or use the llm proposer") from None
    return BuiltinProposer(gemmini=gemmini)


def optimize(proc, *, settings=None, proposer: Proposer | None = None,
             budget: Budget | None = None, run_dir: str | Path | None = None,
             evaluator=None, progress: Callable | None = None, config=None) -> OptimizeResult:
    """Search for faster, correct code for ``proc`` (an Exo proc mapped to Gemmini, or,
    with ``evaluator``, anything that evaluator accepts). ``settings``: `Settings`, a TOML
    path or a dict (the Gemmini configuration is ``settings.evaluation.gemmini``).
    ``run_dir`` makes the run resumable: run again with the same directory to continue
    after a kill. ``config=`` is the deprecated name of ``settings=``."""
    settings = renamed("optimize", "config", config, "settings", settings)
    s = _apply_budget(_resolve_settings(settings), budget)
    start = _start_from(proc, s, evaluator)
    return _search_once(start, s, proposer, run_dir, progress)


def _search_once(start: _Start, s: Settings, proposer: Proposer | None,
                 run_dir: str | Path | None, progress: Callable | None,
                 wrap: Callable[[Proposer, list], Proposer] | None = None) -> OptimizeResult:
    from autocomp_exo.llm.cache import LLMCache
    from autocomp_exo.llm.client import LLMClient
    from autocomp_exo.prompts.builder import load_menu
    from autocomp_exo.runs import RunDir
    from autocomp_exo.search.beam import BeamSearch
    from autocomp_exo.search.engine import make_engine
    from autocomp_exo.search.service import EvalService

    run = RunDir(run_dir) if run_dir is not None else None
    log = run.log if run else None
    if run:
        run.write_config(to_dict(s))
        run.write_status({"state": "running"})
        run.log("run_start", resumed=run.resumed, name=start.name)
    kind = start.kind
    menu = load_menu(kind, s.prompts.menu_file)
    client = None
    if proposer is None and s.proposer in LLM_PROPOSERS:
        cache_path = (Path(s.llm.cache_dir) / "llm_cache.jsonl" if s.llm.cache_dir
                      else run.llm_cache_path if run else None)
        transport = None
        from autocomp_exo.proposers import exchange
        if exchange.uses_exchange(s.proposer, s.llm):
            transport = exchange.exchange_transport(s.llm, log)
        client = LLMClient(s.llm, cache=LLMCache(cache_path), log=log, transport=transport)
    if proposer is None:
        proposer = build_proposer(s, client, menu)
    if wrap is not None:
        proposer = wrap(proposer, menu)
    engine = make_engine(start.evaluator, s.evaluation.engine, s.evaluation.workers,
                         s.evaluation.timeout)
    service = EvalService(start.evaluator, engine,
                          run.eval_cache_path if run else None,
                          on_evaluated=(lambda r: run.log("simulated", key=r.key, ok=r.ok,
                                                          cycles=r.cycles,
                                                          error_kind=r.error_kind))
                          if run else None)
    t0 = time.time()
    try:
        search = BeamSearch(proposer, service, menu, s.search, run=run, progress=progress)
        if client is not None:
            search.token_counter = lambda: client.usage.total().tokens
        res = search.run_search(start.item)
    except BaseException as e:
        if run:
            state = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
            run.write_status({"state": state, "error": f"{type(e).__name__}: {e}"})
            run.log("run_end", state=state, error=f"{type(e).__name__}: {e}")
            run.close()
        raise
    finally:
        service.close()
        if client is not None:
            client.close()
    usage = client.usage.to_json() if client is not None else {}
    result = _result(start, res, run, usage)
    if run:
        _save(run, result, res, time.time() - t0)
        if res.error is not None:      # results so far are saved; the run still failed
            run.write_status({"state": "failed", "error": str(res.error),
                              "stop_reason": result.stop_reason, "usage": usage})
            run.log("run_end", state="failed", error=str(res.error))
        run.close()
    if res.error is not None:
        res.error.result = result
        raise res.error
    return result


def _result(start: _Start, res, run, usage: dict) -> OptimizeResult:
    from autocomp_exo.search.evaluator import compact_code
    best = res.best
    code = compact_code(best.fn) or best.code
    toolchain = None
    try:
        from lowering.print_toolchain import to_toolchain_c
        toolchain = to_toolchain_c(best.fn)
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - the compact code is still the result
        toolchain = None
    return OptimizeResult(
        name=start.name, fn=best.fn, code=code, toolchain_code=toolchain, cycles=best.cycles,
        start_cycles=res.start.cycles,
        utilization=best.feedback.utilization if best.feedback else None,
        trajectory=res.trajectory, recipe=res.recipe, stop_reason=res.stop_reason,
        samples=res.samples, run_dir=str(run.path) if run else None, usage=usage,
        header=start.header)


def _save(run, result: OptimizeResult, res, seconds: float) -> None:
    info = {"name": result.name, "key": res.best.id, "cycles": result.cycles,
            "start_cycles": result.start_cycles, "speedup": result.speedup,
            "utilization": result.utilization, "trajectory": result.trajectory,
            "recipe": result.recipe, "recipe_items": result.recipe_items,
            "samples": result.samples}
    run.write_best(info, result.code, result.toolchain_code)
    run.write_status({"state": "finished", "stop_reason": result.stop_reason,
                      "iterations": res.iterations, "seconds": round(seconds, 3),
                      "usage": result.usage})
    run.log("run_end", stop_reason=result.stop_reason, best_cycles=result.cycles,
            usage=result.usage)


def reuse_schedule(proc, recipe: list[str], *, settings=None,
                   proposer: Proposer | None = None, budget: Budget | None = None,
                   run_dir: str | Path | None = None, evaluator=None,
                   progress: Callable | None = None, refine_iterations: int = 2,
                   config=None) -> OptimizeResult:
    """Schedule reuse (method.md section 7): a light search that applies the menu items of
    ``recipe`` (menu item keys, e.g. a recorded `OptimizeResult.recipe_items`) one per
    iteration, then a short full search from its best. Run directories ``run_dir/light``
    and ``run_dir/refine``. ``config=`` is the deprecated name of ``settings=``."""
    from autocomp_exo.search.reuse import RecipeProposer, light_settings
    settings = renamed("reuse_schedule", "config", config, "settings", settings)
    s = _apply_budget(_resolve_settings(settings), budget)
    start = _start_from(proc, s, evaluator)
    sub = (lambda name: Path(run_dir) / name) if run_dir is not None else (lambda name: None)
    light = _search_once(start, dataclasses.replace(s, search=light_settings(s.search, recipe)),
                         proposer, sub("light"), progress,
                         wrap=lambda p, menu: RecipeProposer(p, recipe, menu))
    refine_start = dataclasses.replace(start, item=light.fn)
    refine_search = dataclasses.replace(s.search, iterations=refine_iterations)
    refined = _search_once(refine_start, dataclasses.replace(s, search=refine_search), proposer,
                           sub("refine"), progress)
    usage = {f"light/{k}": v for k, v in light.usage.items()}
    usage.update({f"refine/{k}": v for k, v in refined.usage.items()})
    return dataclasses.replace(
        refined, start_cycles=light.start_cycles, recipe=light.recipe + refined.recipe,
        trajectory=light.trajectory + refined.trajectory[1:], usage=usage,
        samples=light.samples + refined.samples,
        run_dir=str(run_dir) if run_dir is not None else None)
