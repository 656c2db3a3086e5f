"""The public entry point: ``optimize(proc) -> OptimizeResult``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from autocomp_exo.deprecation import renamed
from autocomp_exo.progress import reporter
from autocomp_exo.proposers.base import Proposer
from autocomp_exo.settings import Settings, from_dict, load_settings, to_dict
from gemmini import ir
from gemmini.config import DEFAULT_CONFIG, GemminiConfig
from gemmini.errors import ConfigError, ParseError
from lowering.signature import read_signature

log = logging.getLogger("autocomp_exo")


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
    resumed: bool = False                # continued a run directory's earlier run
    reused: int = 0                      # evaluations taken from that run's log
    notes: list[str] = field(default_factory=list)   # what a person should be told

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
    if fn.context and fn.context != "void":     # Exo's `void *ctxt`: nothing to declare
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
    workload: Any = None                 # the lowering.workload.Workload, where known
    seeds: list = field(default_factory=list)    # (key, IR) joining the first beam


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


def _start_from(proc, s: Settings, evaluator, workload=None) -> _Start:
    """What to search from, and how to evaluate it."""
    start = _start_only(proc, s, evaluator)
    workload = workload if workload is not None else start.workload
    if s.search.seed_baselines and workload is not None:
        start.seeds = _seeds(start, workload, s)
    return start


def _seeds(start: _Start, workload, s: Settings) -> list:
    """The workload's vendor-library and loop-FSM programs, named as the start, where their
    parameters and context are the start's (so the result fits the start's header)."""
    from autocomp_exo.baselines import baseline_programs
    try:
        fn, _ = start.evaluator.normalize(start.item)
    except Exception:  # noqa: BLE001 - the search reports an unreadable start itself
        return []
    return [(key, dataclasses.replace(prog, name=fn.name))
            for key, prog in baseline_programs(workload, s.evaluation.gemmini)
            if (prog.context, prog.params) == (fn.context, fn.params)]


def _start_only(proc, s: Settings, evaluator) -> _Start:
    """The start and its evaluator, without seeds."""
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
    ev = ModelEvaluator.from_settings(workload, s.evaluation)
    return _Start(exo_c.c_text, ev, exo_c.name, kind=workload.kind, header=exo_c.h_text,
                  macs=workload.macs, workload=workload)


LLM_PROPOSERS = ("llm", "ensemble", "exchange")


def build_proposer(s: Settings, client, menu) -> Proposer:
    """The proposer named by ``s.proposer`` (builtin, llm, ensemble or exchange; with
    ``llm.exchange_dir`` set, the LLM members answer through that directory)."""
    members: list = []
    if s.proposer in ("builtin", "ensemble"):
        members.append(_builtin(s.evaluation.gemmini, s.search.ranker))
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


def _builtin(gemmini: str | GemminiConfig = DEFAULT_CONFIG, ranker: str = "off") -> Proposer:
    """The built-in proposer; ``ranker`` is ``search.ranker`` (off, default or a file)."""
    try:
        from autocomp_exo.proposers.builtin import BuiltinProposer
        from autocomp_exo.proposers.ranker import load
    except ImportError as e:
        raise ConfigError(f"the built-in proposer is not available ({e}); pass proposer=... "
                          "or use the llm proposer") from None
    learned = None if ranker == "off" else load(None if ranker == "default" else ranker)
    return BuiltinProposer(gemmini=gemmini, ranker=learned)


def optimize(proc, *, settings=None, proposer: Proposer | None = None,
             budget: Budget | None = None, run_dir: str | Path | None = None,
             evaluator=None, progress: Callable | bool | None = None, fresh: bool = False,
             config=None, workload=None) -> OptimizeResult:
    """Search for faster, correct code for ``proc`` (an Exo proc mapped to Gemmini, or,
    with ``evaluator``, anything that evaluator accepts). ``settings``: `Settings`, a TOML
    path or a dict (the Gemmini configuration is ``settings.evaluation.gemmini``).
    ``run_dir`` makes the run resumable: run again with the same directory to continue
    after a kill; a directory holding a different run is refused unless ``fresh``.
    ``progress``: None shows a progress bar on a terminal and logs (logger
    ``autocomp_exo.progress``) otherwise, False is silent, a callable gets every
    `SearchState`. ``workload`` (a `lowering.workload.Workload`, for code given with an
    ``evaluator``) lets the search start from the workload's loop-FSM and vendor-library
    programs too (``search.seed_baselines``, on by default; Exo procs get it always).
    ``config=`` is the deprecated name of ``settings=``."""
    settings = renamed("optimize", "config", config, "settings", settings)
    s = _apply_budget(_resolve_settings(settings), budget)
    start = _start_from(proc, s, evaluator, workload)
    with reporter(progress, s.search.iterations) as update:
        return _search_once(start, s, proposer, run_dir, update, fresh=fresh)


# settings that do not change what a run finds (budgets, parallelism); the rest do
_NOT_IDENTITY = {"search": ("iterations", "patience", "max_samples", "max_seconds",
                            "parallel_requests", "stream"),
                 "evaluation": ("engine", "ray_address", "workers", "timeout"),
                 "llm": ("concurrency", "timeout", "retries", "backoff_base", "backoff_max",
                         "max_tokens_total", "max_usd", "cache_dir")}


def run_identity(start: _Start, s: Settings) -> dict:
    """What a run is: its start program, name, Gemmini configuration, the cycle model's
    version (cached evaluations of another model do not hold) and every setting that
    changes its results (budgets and parallelism may differ between sessions)."""
    from autocomp_exo.search.evaluator import ir_key
    item = start.item
    text = ir_key(item) if isinstance(item, ir.Function) else str(item)
    settings = json.loads(json.dumps(to_dict(s)))       # tuples as lists, as saved
    settings.pop("build", None)                    # how a build calls the search
    for table, keys in _NOT_IDENTITY.items():
        for k in keys:
            settings[table].pop(k, None)
    for m in settings["llm"]["models"]:           # where a model is served is not what it is
        m.pop("base_url", None)
        m.pop("api_key_env", None)
    from autocomp_exo import tuning_db
    return {"name": start.name, "kind": start.kind,
            "gemmini": s.evaluation.gemmini, "model": tuning_db.model_version(),
            "start": hashlib.sha256(text.encode()).hexdigest()[:16],
            "settings": settings}


def _search_once(start: _Start, s: Settings, proposer: Proposer | None,
                 run_dir: str | Path | None, progress: Callable | None,
                 wrap: Callable[[Proposer, list], Proposer] | None = None,
                 fresh: bool = False) -> OptimizeResult:
    from autocomp_exo.runs import RunDir

    run = RunDir(run_dir, run_identity(start, s), fresh=fresh) if run_dir is not None else None
    if run is None:
        return _search_in(start, s, proposer, None, progress, wrap)
    try:
        for note in run.notes:
            log.warning("%s: %s", run.path, note)
        return _search_in(start, s, proposer, run, progress, wrap)
    finally:
        run.close()


def _search_in(start: _Start, s: Settings, proposer: Proposer | None, run,
               progress: Callable | None,
               wrap: Callable[[Proposer, list], Proposer] | None) -> OptimizeResult:
    from autocomp_exo.llm.cache import LLMCache
    from autocomp_exo.llm.client import LLMClient
    from autocomp_exo.prompts.builder import load_menu
    from autocomp_exo.proposers import exchange
    from autocomp_exo.search.beam import BeamSearch
    from autocomp_exo.search.engine import make_engine
    from autocomp_exo.search.service import EvalService

    log_event = run.log if run else None
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
        if exchange.uses_exchange(s.proposer, s.llm):
            transport = exchange.exchange_transport(s.llm, log_event)
        client = LLMClient(s.llm, cache=LLMCache(cache_path), log=log_event,
                           transport=transport)
    if proposer is None:
        proposer = build_proposer(s, client, menu)
    if wrap is not None:
        proposer = wrap(proposer, menu)
    engine = make_engine(start.evaluator, s.evaluation.engine, s.evaluation.workers,
                         s.evaluation.timeout, address=s.evaluation.ray_address)
    service = EvalService(start.evaluator, engine,
                          run.eval_cache_path if run else None,
                          on_evaluated=(lambda r: run.log("simulated", key=r.key, ok=r.ok,
                                                          cycles=r.cycles,
                                                          error_kind=r.error_kind))
                          if run else None)
    if run and run.resumed:
        log.info("%s: resuming (%d distinct programs' evaluations saved)", run.path,
                 len(service.cache))
    t0 = time.time()
    search = None
    try:
        search = BeamSearch(proposer, service, menu, s.search, run=run, progress=progress)
        if client is not None:
            search.token_counter = lambda: client.usage.total().tokens
            # an LLM budget counts the cached calls of a replay: skip no iteration then
            search.may_restore = s.llm.max_tokens_total is None and s.llm.max_usd is None
        res = search.run_search(start.item, start.seeds)
    except BaseException as e:
        if run:
            _save_after_error(run, start, search, e, time.time() - t0)
        raise
    finally:
        service.close()
        if client is not None:
            client.close()
    usage = client.usage.to_json() if client is not None else {}
    result = _result(start, res, run, usage)
    result.resumed = bool(run and run.resumed)
    result.reused = service.reused + search.restored_samples
    if search.restored_iteration:
        result.notes.append(f"resumed after iteration {search.restored_iteration} (its "
                            f"{search.restored_samples} evaluations taken from the log)")
    if run:
        result.notes += run.notes
        failed = {"state": "failed", "error": str(res.error)} if res.error is not None else {}
        _save(run, result, res, time.time() - t0, **failed)
    if res.error is not None:      # the results so far are saved; the run still failed
        res.error.result = result
        raise res.error
    return result


def _save_after_error(run, start: _Start, search, e: BaseException, seconds: float) -> None:
    """Status of a run that stopped on an error or Ctrl-C, and its best so far (a failing
    disk may refuse these writes too: the original error is the one to report)."""
    state = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
    error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    try:
        partial = _partial(search)
        if partial is not None:
            result = _result(start, partial, run, {})
            _save(run, result, partial, seconds, state=state, error=error)
        else:
            run.write_status({"state": state, "error": error})
            run.log("run_end", state=state, error=error)
    except OSError:
        pass


def _partial(search):
    """A `SearchResult` of the best candidate accepted so far (None before the start)."""
    from autocomp_exo.search.beam import SearchResult
    if search is None or not search.accepted:
        return None
    cands = search.accepted
    root = next(c for c in cands.values() if c.parent is None)
    best = min(cands.values(), key=lambda c: (c.cycles, c.iteration, c.id))
    chain = [best.id]
    while cands[chain[-1]].parent is not None:
        chain.append(cands[chain[-1]].parent)
    return SearchResult(start=root, best=best, beam=[best], trajectory=[root.cycles, best.cycles],
                        recipe=search.lineage.recipe(chain[::-1]), lineage=search.lineage,
                        stop_reason="interrupted", samples=search.state.samples,
                        iterations=search.state.iteration)


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


def _save(run, result: OptimizeResult, res, seconds: float, state: str = "finished",
          error: str | None = None) -> None:
    info = {"name": result.name, "key": res.best.id, "cycles": result.cycles,
            "start_cycles": result.start_cycles, "speedup": result.speedup,
            "utilization": result.utilization, "trajectory": result.trajectory,
            "recipe": result.recipe, "recipe_items": result.recipe_items,
            "samples": result.samples}
    kept = run.write_best(info, result.code, result.toolchain_code)
    if kept is not None:
        result.notes.append(f"kept the earlier best in {run.path / 'best.c'} ({kept['cycles']:,}"
                            f" cycles); this run's best is slower ({result.cycles:,} cycles)")
    status = {"state": state, "stop_reason": result.stop_reason,
              "iterations": res.iterations, "seconds": round(seconds, 3),
              "usage": result.usage}
    if error:
        status["error"] = error
    run.write_status(status)
    run.log("run_end", state=state, stop_reason=result.stop_reason, best_cycles=result.cycles,
            usage=result.usage, kept_earlier=kept["cycles"] if kept else None)


REPLAY_SHARE = 0.2     # the share of a sample budget the replay of recorded steps may use
REUSE_SEED = "reused_schedule"     # the seed name of a replayed schedule in the refinement


def reuse_schedule(proc, recipe: list, *, settings=None,
                   proposer: Proposer | None = None, budget: Budget | None = None,
                   run_dir: str | Path | None = None, evaluator=None,
                   progress: Callable | bool | None = None, refine_iterations: int = 2,
                   replay_share: float = REPLAY_SHARE, fresh: bool = False,
                   config=None, workload=None) -> OptimizeResult:
    """Schedule reuse (method.md section 7): a light search that replays the steps of
    ``recipe`` one per iteration (menu item keys, e.g. `OptimizeResult.recipe_items`, or
    recorded steps, `search.reuse.recorded_steps`), then a full search of
    ``refine_iterations`` from the start whose first beam also holds the replay's result.
    Run directories ``run_dir/light`` and ``run_dir/refine``. A sample budget covers both
    searches together; the replay uses at most ``replay_share`` of it. ``workload`` as for
    `optimize` (C text with an evaluator: the refinement's seed programs).
    ``config=`` is the deprecated name of ``settings=``."""
    settings = renamed("reuse_schedule", "config", config, "settings", settings)
    return reuse_schedules(proc, [recipe], settings=settings, proposer=proposer,
                           budget=budget, run_dir=run_dir, evaluator=evaluator,
                           progress=progress, refine_iterations=refine_iterations,
                           replay_share=replay_share, fresh=fresh, workload=workload)


def _replay_start(start: _Start, recipe: list) -> tuple[_Start, list]:
    """Where a replay of ``recipe`` starts, and the steps it replays: the start alone, or,
    when the recipe begins with a seed program the start also has (its loop FSM's or
    vendor library's), the start with that seed, and the steps after it."""
    from autocomp_exo.search.reuse import is_seed, step_key
    if recipe and is_seed(recipe[0]):
        same = [seed for seed in start.seeds if seed[0] == step_key(recipe[0])]
        return dataclasses.replace(start, seeds=same), list(recipe[1:])
    return dataclasses.replace(start, seeds=[]), list(recipe)


def reuse_schedules(proc, recipes: list[list], *, settings=None,
                    proposer: Proposer | None = None, budget: Budget | None = None,
                    run_dir: str | Path | None = None, evaluator=None,
                    progress: Callable | bool | None = None, refine_iterations: int = 2,
                    replay_share: float = REPLAY_SHARE, fresh: bool = False,
                    workload=None) -> OptimizeResult:
    """`reuse_schedule` seeded by several recipes: one light search per recipe from the
    start (run directories ``light``, ``light_2``, ...; together at most ``replay_share``
    of a sample budget), then a full search from the start whose first beam holds the
    start, its usual seeds (the loop FSM's and vendor library's programs) and every
    replayed result faster than the start, so a replay that leads nowhere costs only its
    samples. A sample budget covers all searches together."""
    from autocomp_exo.search.reuse import RecipeProposer, light_settings
    if not recipes:
        raise ConfigError("reuse needs at least one recipe")
    if not 0.0 < replay_share <= 1.0:
        raise ConfigError(f"replay_share must be in (0, 1], not {replay_share}")
    s = _apply_budget(_resolve_settings(settings), budget)
    start = _start_from(proc, s, evaluator, workload)
    sub = (lambda name: Path(run_dir) / name) if run_dir is not None else (lambda name: None)
    total = s.search.max_samples
    replay_left = None if total is None else max(1, int(total * replay_share))
    lights: list[OptimizeResult] = []
    steps = sum(max(1, len(r)) for r in recipes) + refine_iterations
    with reporter(progress, steps) as update:
        for i, recipe in enumerate(recipes):
            if replay_left is not None and replay_left <= 0:
                break
            light_start, recipe = _replay_start(start, recipe)
            search = light_settings(s.search, recipe)
            if replay_left is not None:
                search = dataclasses.replace(search, max_samples=replay_left)
            light = _search_once(light_start,
                                 dataclasses.replace(s, search=search), proposer,
                                 sub("light" if i == 0 else f"light_{i + 1}"), update,
                                 wrap=lambda p, menu, r=recipe: RecipeProposer(p, r, menu),
                                 fresh=fresh)
            lights.append(light)
            if replay_left is not None:
                replay_left -= light.samples
        replayed = {(REUSE_SEED if i == 0 else f"{REUSE_SEED}_{i + 1}"): light
                    for i, light in enumerate(lights) if light.cycles < light.start_cycles}
        refine_start = dataclasses.replace(
            start, seeds=[*start.seeds, *((k, r.fn) for k, r in replayed.items())])
        refine_search = dataclasses.replace(s.search, iterations=refine_iterations)
        if total is not None:
            used = sum(r.samples for r in lights)
            refine_search = dataclasses.replace(refine_search, max_samples=max(1, total - used))
        refined = _search_once(refine_start, dataclasses.replace(s, search=refine_search),
                               proposer, sub("refine"), update, fresh=fresh)
    usage: dict = {}
    for i, light in enumerate(lights):
        usage.update({f"light{'' if i == 0 else f'_{i + 1}'}/{k}": v
                      for k, v in light.usage.items()})
    usage.update({f"refine/{k}": v for k, v in refined.usage.items()})
    recipe, trajectory = refined.recipe, refined.trajectory
    first = refined.recipe[0] if refined.recipe else {}
    if first.get("planner") == "seed" and first.get("menu_item") in replayed:
        light = replayed[first["menu_item"]]       # the best descends from a replay
        recipe = light.recipe + refined.recipe[1:]
        trajectory = light.trajectory + refined.trajectory[1:]
    return dataclasses.replace(
        refined, recipe=recipe, trajectory=trajectory, usage=usage,
        samples=sum(r.samples for r in lights) + refined.samples,
        notes=[n for r in lights for n in r.notes] + refined.notes,
        resumed=any(r.resumed for r in lights) or refined.resumed,
        reused=sum(r.reused for r in lights) + refined.reused,
        run_dir=str(run_dir) if run_dir is not None else None)
