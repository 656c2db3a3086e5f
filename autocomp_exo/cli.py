"""Command line: ``autocomp-exo optimize | evaluate | runs show | exchange pending | quickstart``.

Settings come from ``--settings FILE.toml`` and are overridden by flags; the Gemmini
configuration is ``--gemmini NAME``. The old flag names ``--config`` (settings file) and
``--gemmini-config`` still work for one release.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

from gemmini.config import CONFIGS, DEFAULT_CONFIG
from gemmini.errors import AutocompError, ConfigError

# flag dest -> dotted settings key
_FLAG_KEYS = {
    "proposer": "proposer",
    "beam_width": "search.beam_width", "plans": "search.plans_per_candidate",
    "impls": "search.impls_per_plan", "iterations": "search.iterations",
    "dropout": "search.dropout", "seed": "search.seed", "patience": "search.patience",
    "max_samples": "search.max_samples", "max_seconds": "search.max_seconds",
    "gemmini": "evaluation.gemmini", "engine": "evaluation.engine",
    "workers": "evaluation.workers", "timeout": "evaluation.timeout",
    "max_tokens": "llm.max_tokens_total", "max_usd": "llm.max_usd",
    "exchange_dir": "llm.exchange_dir", "exchange_timeout": "llm.exchange_timeout",
}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="autocomp-exo",
                                 description="Optimize Exo-generated Gemmini code by search.")
    sub = ap.add_subparsers(dest="command", required=True)

    def target_args(p):
        p.add_argument("target", help="an Exo proc as FILE.py:NAME, or a C file")
        p.add_argument("--workload", help="for a C file: gemm:MxNxK, conv:BxDIMxCINxCOUT "
                                          "or a suite name")
        _settings_flags(p)

    p = sub.add_parser("optimize", help="search for faster code")
    target_args(p)
    _search_flags(p)
    p.add_argument("--recipe", help="reuse a schedule: comma-separated menu item keys (e.g. "
                                    "keep_in_scratchpad,hoist) applied one per iteration "
                                    "before a short full search")
    p = sub.add_parser("evaluate", help="print the model's report for a proc or C file")
    target_args(p)
    p = sub.add_parser("runs", help="inspect run directories")
    rs = p.add_subparsers(dest="runs_command", required=True)
    show = rs.add_parser("show", help="summary of a run directory")
    show.add_argument("dir")
    p = sub.add_parser("exchange", help="inspect an exchange directory (--proposer exchange)")
    ex = p.add_subparsers(dest="exchange_command", required=True)
    pend = ex.add_parser("pending", help="list the requests still waiting for an answer")
    pend.add_argument("dir")
    p = sub.add_parser("quickstart", help="optimize a bundled small GEMM")
    _settings_flags(p, gemmini_help=argparse.SUPPRESS)
    _search_flags(p)
    return ap


def _settings_flags(p, gemmini_help: str | None = None) -> None:
    p.add_argument("--settings", help="settings TOML file")
    p.add_argument("--gemmini", help=gemmini_help or f"Gemmini configuration: "
                   f"{', '.join(CONFIGS)} (default {DEFAULT_CONFIG})")
    # the old names, for one release
    p.add_argument("--config", dest="old_settings", help=argparse.SUPPRESS)
    p.add_argument("--gemmini-config", dest="old_gemmini", help=argparse.SUPPRESS)


def _old_flags(args) -> None:
    """Take the values of the old flag names, with a note on stderr."""
    for old, flag, dest in (("old_settings", "--config", "settings"),
                            ("old_gemmini", "--gemmini-config", "gemmini")):
        value = getattr(args, old, None)
        if value is None:
            continue
        if getattr(args, dest, None) is not None:
            raise ConfigError(f"{flag} is the old name of --{dest}: pass only one")
        print(f"autocomp-exo: note: {flag} is deprecated, use --{dest}", file=sys.stderr)
        setattr(args, dest, value)


def _search_flags(p) -> None:
    p.add_argument("--run-dir", help="run directory (resumable; run again to continue)")
    p.add_argument("--out", help="write NAME.c and NAME.h of the best code here")
    p.add_argument("--proposer", choices=("builtin", "llm", "ensemble", "exchange"))
    p.add_argument("--exchange-dir", help="answer the LLM requests by files in this directory "
                                          "(with --proposer exchange, or ensemble)")
    p.add_argument("--exchange-timeout", type=float,
                   help="seconds to wait for one answer file (default 3600)")
    p.add_argument("--model", action="append", dest="models", metavar="NAME",
                   help="LLM model name (repeat for an ensemble)")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint for --model")
    p.add_argument("--beam-width", type=int)
    p.add_argument("--plans", type=int, help="plans per candidate (N)")
    p.add_argument("--impls", type=int, help="implementations per plan (K)")
    p.add_argument("--iterations", type=int)
    p.add_argument("--dropout", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--patience", type=int)
    p.add_argument("--max-samples", type=int)
    p.add_argument("--max-seconds", type=float)
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--max-usd", type=float)
    p.add_argument("--engine", choices=("process", "inline"))
    p.add_argument("--workers", type=int)
    p.add_argument("--timeout", type=float)


def _settings(args):
    from autocomp_exo.settings import load_settings
    _old_flags(args)
    overrides = {key: getattr(args, dest, None) for dest, key in _FLAG_KEYS.items()}
    if getattr(args, "models", None):
        overrides["llm.models"] = [{"name": m, **({"base_url": args.base_url}
                                                  if args.base_url else {})}
                                   for m in args.models]
    return load_settings(getattr(args, "settings", None), overrides)


def parse_workload(text: str):
    """A `Workload` from ``gemm:MxNxK``, ``conv:BxDIMxCINxCOUT`` or a suite name."""
    from lowering.workload import Workload
    from lowering import suite as workloads
    m = re.fullmatch(r"(gemm|conv):(\d+(?:x\d+)*)", text.strip())
    if m:
        dims = [int(x) for x in m.group(2).split("x")]
        if m.group(1) == "gemm" and len(dims) == 3:
            return Workload.from_spec(workloads.gemm(*dims))
        if m.group(1) == "conv" and len(dims) == 4:
            return Workload.from_spec(workloads.conv(*dims))
        raise ConfigError(f"workload {text!r}: gemm takes MxNxK, conv takes BxDIMxCINxCOUT")
    try:
        return Workload.from_spec(text)
    except (KeyError, ValueError):
        raise ConfigError(f"unknown workload {text!r} (use gemm:MxNxK, conv:BxDIMxCINxCOUT "
                          "or a suite name)") from None


def load_proc(spec: str):
    """The Exo proc ``NAME`` defined by the user's file ``FILE.py`` (``FILE.py:NAME``)."""
    path, _, name = spec.rpartition(":")
    if not path.endswith(".py") or not name:
        raise ConfigError(f"{spec!r}: expected FILE.py:NAME")
    file = Path(path)
    if not file.exists():
        raise ConfigError("file not found", filename=path)
    mod_spec = importlib.util.spec_from_file_location(f"_autocomp_user_{file.stem}", file)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)  # the user's own proc file, by their request
    if not hasattr(module, name):
        raise ConfigError(f"no {name!r} defined", filename=path)
    return getattr(module, name)


def _target(args, settings):
    """(item to optimize, evaluator or None, settings) for a target argument."""
    import dataclasses
    if args.target.endswith(".c") or args.workload:
        if not args.workload:
            raise ConfigError("a C file needs --workload (e.g. gemm:64x64x64)")
        from autocomp_exo.evaluation import ModelEvaluator
        path = Path(args.target)
        try:
            text = path.read_text()
        except OSError as e:
            raise ConfigError(f"cannot read: {e.strerror}", filename=str(path)) from None
        w = parse_workload(args.workload)
        ev = ModelEvaluator.for_workload(w, settings.evaluation.gemmini,
                                         kinds=settings.evaluation.input_kinds,
                                         seeds=settings.evaluation.input_seeds)
        settings = dataclasses.replace(settings, prompts=dataclasses.replace(
            settings.prompts, workload_kind=w.kind))
        return text, ev, settings
    return load_proc(args.target), None, settings


def cmd_optimize(args, item=None, evaluator=None, settings=None, header=None) -> int:
    from autocomp_exo.optimizer import optimize, reuse_schedule
    settings = settings or _settings(args)
    if item is None:
        item, evaluator, settings = _target(args, settings)
        sibling = Path(args.target).with_suffix(".h")
        if args.target.endswith(".c") and sibling.exists():
            header = sibling.read_text()       # Exo's header next to its C file
    recipe = getattr(args, "recipe", None)
    if recipe:
        items = [x.strip() for x in recipe.split(",") if x.strip()]
        result = _with_progress(lambda progress: reuse_schedule(
            item, items, settings=settings, run_dir=args.run_dir, evaluator=evaluator,
            progress=progress), len(items) + 2)
    else:
        result = _with_progress(lambda progress: optimize(
            item, settings=settings, run_dir=args.run_dir, evaluator=evaluator,
            progress=progress), settings.search.iterations)
    _print_result(result)
    if header and not result.header:
        result.header = header
    if args.out:
        c, h = result.write(args.out)
        print(f"wrote {c} and {h}")
    return 0


def _with_progress(run, iterations: int):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                  transient=False) as bar:
        task = bar.add_task("search", total=iterations, status="starting")

        def progress(state):
            speed = (f" ({state.start_cycles / state.best_cycles:.2f}x)"
                     if state.best_cycles else "")
            bar.update(task, completed=state.iteration - (state.phase != "done"),
                       description=f"iteration {state.iteration}/{state.total_iterations}",
                       status=f"{state.phase:9s} evaluated {state.samples}  best "
                              f"{state.best_cycles} cycles{speed}  tokens {state.tokens}")
        result = run(progress)
        bar.update(task, completed=iterations, status=f"done: {result.stop_reason}")
    return result


def _print_result(result) -> None:
    from rich.console import Console
    from rich.table import Table
    t = Table(title=f"autocomp-exo: {result.name}")
    t.add_column("")
    t.add_column("before (start)", justify="right")
    t.add_column("after (best found)", justify="right")
    t.add_row("cycles", f"{result.start_cycles:,}", f"{result.cycles:,}")
    if result.utilization is not None:   # same ideal cycles, so utilization scales
        before = result.utilization * result.cycles / result.start_cycles
        t.add_row("utilization", f"{100 * before:.1f}%", f"{100 * result.utilization:.1f}%")
    t.add_row("speedup", "1.00x", f"{result.speedup:.2f}x")
    Console().print(t)
    s = Table(show_header=False, box=None)
    s.add_row("candidates evaluated", str(result.samples))
    s.add_row("stopped", result.stop_reason)
    s.add_row("recipe (menu items)", " -> ".join(map(str, result.recipe_items)) or "-")
    tokens = sum(v["prompt_tokens"] + v["completion_tokens"] for v in result.usage.values())
    if tokens:
        s.add_row("LLM tokens", f"{tokens:,}")
    if result.run_dir:
        s.add_row("run directory", result.run_dir)
    Console().print(s)


def cmd_evaluate(args) -> int:
    from rich.console import Console
    from rich.table import Table
    settings = _settings(args)
    item, evaluator, settings = _target(args, settings)
    if evaluator is None:
        from autocomp_exo.evaluation import ModelEvaluator
        from lowering.workload import Workload
        w = Workload.from_proc(item)
        evaluator = ModelEvaluator.for_workload(w, settings.evaluation.gemmini,
                                                kinds=settings.evaluation.input_kinds,
                                                seeds=settings.evaluation.input_seeds)
        item = w.mapped_c().c_text
    res = evaluator.evaluate(item)
    t = Table(title="model report")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("correct", "yes" if res.ok else f"no ({res.error_kind})")
    if not res.ok:
        t.add_row("error", res.error_message or "")
    fb = res.feedback
    if fb is not None:
        t.add_row("cycles", f"{fb.cycles:,}")
        t.add_row("utilization", f"{100 * fb.utilization:.1f}%")
        t.add_row("scratchpad", f"{fb.sp_kib_used:.1f} KB out of {fb.sp_kib_total:.0f} KB")
        t.add_row("accumulator", f"{fb.acc_kib_used:.1f} KB out of {fb.acc_kib_total:.0f} KB")
        t.add_row("bound", fb.bound)
        for k, v in fb.details.items():
            t.add_row(k, str(v))
    Console().print(t)
    return 0 if res.ok else 1


def cmd_runs_show(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from autocomp_exo.runs import load_run
    run = load_run(args.dir)
    t = Table(title=f"run {run['path']}")
    t.add_column("item")
    t.add_column("value")
    status, best = run["status"], run["best"]
    state = status.get("state", "running")
    if state == "running":
        state = "running, or killed (run optimize again with this directory to resume)"
    t.add_row("state", state)
    if status.get("error"):
        t.add_row("error", status["error"])
    if status.get("stop_reason"):
        t.add_row("stopped", status["stop_reason"])
    if best:
        t.add_row("start cycles", f"{best['start_cycles']:,}")
        t.add_row("best cycles", f"{best['cycles']:,}")
        t.add_row("speedup", f"{best['speedup']:.2f}x")
        t.add_row("trajectory", " ".join(map(str, best["trajectory"])))
        t.add_row("recipe (menu items)", " -> ".join(map(str, best["recipe_items"])) or "-")
    t.add_row("iterations saved", str(max(0, len(run["beams"]) - 1)))
    t.add_row("events", ", ".join(f"{k} {v}" for k, v in sorted(run["event_counts"].items())))
    for key, u in sorted(status.get("usage", {}).items()):
        t.add_row(f"tokens {key}", f"{u['prompt_tokens'] + u['completion_tokens']:,} "
                                   f"({u['calls']} calls, {u['cached_calls']} cached, "
                                   f"{u.get('failed_calls', 0)} failed)")
    fails = run["llm_failures"]
    if any(fails.values()):
        t.add_row("LLM failures", f"{fails['failed_calls']} calls failed, "
                                  f"{fails['retried_attempts']} attempts retried")
    Console().print(t)
    return 0


def cmd_exchange_pending(args) -> int:
    """One line per unanswered request: number, phase, request file, answer file."""
    from autocomp_exo.llm.exchange import pending
    if not (Path(args.dir) / "requests").is_dir():
        raise ConfigError("not an exchange directory (no requests/)", filename=args.dir)
    waiting = pending(args.dir)
    for p in waiting:
        print(f"{p.number:04d} {p.phase:9s} {p.request} -> {p.answer}")
    print(f"{len(waiting)} request(s) waiting", file=sys.stderr)
    return 0


QUICKSTART_WORKLOAD = "gemm:64x64x64"
QUICKSTART_DIR = Path("runs") / "quickstart"


def cmd_quickstart(args) -> int:
    """Optimize a bundled GEMM with the default (built-in) proposer; resumable."""
    from autocomp_exo.evaluation import ModelEvaluator
    args.run_dir = args.run_dir or str(QUICKSTART_DIR)
    args.out = args.out or str(Path(args.run_dir) / "out")
    settings = _settings(args)
    w = parse_workload(QUICKSTART_WORKLOAD)
    ev = ModelEvaluator.for_workload(w, settings.evaluation.gemmini,
                                     kinds=settings.evaluation.input_kinds,
                                     seeds=settings.evaluation.input_seeds)
    exo_c = w.mapped_c()
    return cmd_optimize(args, item=exo_c.c_text, evaluator=ev, settings=settings,
                        header=exo_c.h_text)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "optimize":
            return cmd_optimize(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "runs":
            return cmd_runs_show(args)
        if args.command == "quickstart":
            return cmd_quickstart(args)
        if args.command == "exchange":
            return cmd_exchange_pending(args)
    except (AutocompError, FileNotFoundError) as e:
        print(f"autocomp-exo: error: {e}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
