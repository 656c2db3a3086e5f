"""Command line: ``autocomp-exo optimize | evaluate | runs show | report | exchange pending |
db show|import|prune | quickstart``.

Settings come from ``--settings FILE.toml`` and are overridden by flags; the Gemmini
configuration is ``--gemmini NAME``. The old flag names ``--config`` (settings file) and
``--gemmini-config`` still work for one release. Errors are one line on stderr with an
exit code from `autocomp_exo.exitcodes.Exit` (docs/cli.md); ``--verbose`` adds the
traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import re
import signal
import sys
import threading
import traceback
from pathlib import Path

from autocomp_exo import __version__
from autocomp_exo.exitcodes import Exit
from autocomp_exo.llm.client import EndpointError
from autocomp_exo.runs import RunDirMismatch, read_json, write_json
from autocomp_exo.settings import ENGINES, PROPOSERS
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
    "ray_address": "evaluation.ray_address",
    "max_tokens": "llm.max_tokens_total", "max_usd": "llm.max_usd",
    "exchange_dir": "llm.exchange_dir", "exchange_timeout": "llm.exchange_timeout",
}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit code `Exit.USAGE`)."""

    def error(self, message):
        self.exit(Exit.USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="autocomp-exo",
                 description="Optimize Exo-generated Gemmini code by search.",
                 epilog="Exit codes: see docs/cli.md.")
    ap.add_argument("--version", action="version", version=f"autocomp-exo {__version__}")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show the traceback of an error")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def verbose(p):
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of an error")

    def target_args(p):
        p.add_argument("target", help="an Exo proc as FILE.py:NAME, a C file, or a suite "
                                      "workload name (its unoptimized mapping; see "
                                      "`autocomp-exo workloads`)")
        p.add_argument("--workload", help="for a C file: gemm:MxNxK, conv:BxDIMxCINxCOUT "
                                          "(+bias) or a suite name")
        p.add_argument("--reference", metavar="FILE.py:PROC",
                       help="for a C file: check it against this Exo proc's semantics")
        _settings_flags(p)
        verbose(p)

    p = sub.add_parser("optimize", help="search for faster code")
    target_args(p)
    _search_flags(p)
    p.add_argument("--recipe", help="reuse a schedule: comma-separated menu item keys (e.g. "
                                    "keep_in_scratchpad,hoist) applied one per iteration "
                                    "before a short full search")
    p = sub.add_parser("evaluate", help="print the model's report for a proc or C file")
    target_args(p)
    p = sub.add_parser("workloads", help="list the bundled workloads (name, kind, "
                                         "configuration, shape)")
    verbose(p)
    p = sub.add_parser("runs", help="inspect run directories")
    rs = p.add_subparsers(dest="runs_command", required=True, parser_class=_Parser)
    show = rs.add_parser("show", help="summary of a run directory")
    show.add_argument("dir", help="the run directory")
    verbose(show)
    p = sub.add_parser("report", help="write a self-contained HTML report of a run directory")
    p.add_argument("dir", help="the run directory")
    p.add_argument("--out", help="the HTML file to write (default: DIR/report.html)")
    verbose(p)
    p = sub.add_parser("exchange", help="inspect an exchange directory (--proposer exchange)")
    ex = p.add_subparsers(dest="exchange_command", required=True)
    pend = ex.add_parser("pending", help="list the requests still waiting for an answer")
    pend.add_argument("dir", help="the exchange directory")
    verbose(pend)
    p = sub.add_parser("db", help="the tuning database of compile_procs (docs/build.md)")
    dbs = p.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    for name, text in (("show", "list the entries"),
                       ("import", "store a run directory's best result"),
                       ("prune", "delete stale entries (and --key entries)")):
        d = dbs.add_parser(name, help=text)
        if name == "import":
            d.add_argument("dir", help="the run directory")
            d.add_argument("--proc", required=True, metavar="FILE.py:NAME",
                           help="the Exo proc the run optimized")
        if name == "prune":
            d.add_argument("--key", action="append", default=[],
                           help="also delete this entry (a key or its start; repeatable)")
        d.add_argument("--db", help="the database file (default: $AUTOCOMP_EXO_TUNING_DB, "
                                    "else build.tuning_db of the settings)")
        d.add_argument("--settings", metavar="FILE.toml", help="settings TOML file")
        verbose(d)
    p = sub.add_parser("quickstart", help="optimize a bundled small GEMM")
    _settings_flags(p, gemmini_help=argparse.SUPPRESS)
    _search_flags(p)
    verbose(p)
    return ap


def _count(low: int):
    """An argparse type: an integer of at least ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return parse


def _number(low: float, high: float | None = None, low_open: bool = False):
    """An argparse type: a number in [low, high) (or (low, ...) with ``low_open``)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < low or (low_open and value == low) or (high is not None and value >= high):
            bound = f"above {low:g}" if low_open else f"at least {low:g}"
            if high is not None:
                bound += f" and below {high:g}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value
    return parse


def _settings_flags(p, gemmini_help: str | None = None) -> None:
    p.add_argument("--settings", metavar="FILE.toml",
                   help="settings TOML file (keys: docs/settings.example.toml); flags win")
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
    p.add_argument("--run-dir", help="run directory (resumable: run again to continue); "
                                     "default runs/NAME, printed")
    p.add_argument("--fresh", action="store_true",
                   help="discard what the run directory holds and start over")
    p.add_argument("--out", help="write NAME.c and NAME.h of the best code here "
                                 "(default RUN_DIR/out)")
    p.add_argument("--proposer", choices=PROPOSERS,
                   help="who plans and rewrites: the built-in engine (default), LLMs, both "
                        "(ensemble), or answers written to files (exchange)")
    p.add_argument("--exchange-dir", help="answer the LLM requests by files in this directory "
                                          "(with --proposer exchange, or ensemble)")
    p.add_argument("--exchange-timeout", type=float,
                   help="seconds to wait for one answer file (default 3600)")
    p.add_argument("--model", action="append", dest="models", metavar="NAME",
                   help="LLM model name (repeat for an ensemble)")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint for --model")
    p.add_argument("--beam-width", type=_count(1), help="candidates kept per iteration (B)")
    p.add_argument("--plans", type=_count(1), help="plans per candidate (N)")
    p.add_argument("--impls", type=_count(1), help="implementations per plan (K)")
    p.add_argument("--iterations", type=_count(0), help="search iterations (T)")
    p.add_argument("--dropout", type=_number(0.0, 1.0),
                   help="probability of dropping each menu item from a plan prompt, in [0, 1)")
    p.add_argument("--seed", type=int, help="random seed of the search")
    p.add_argument("--patience", type=_count(1),
                   help="stop after this many iterations without improvement")
    p.add_argument("--max-samples", type=_count(1), help="most candidates evaluated")
    p.add_argument("--max-seconds", type=_number(0.0, low_open=True),
                   help="wall-clock budget in seconds")
    p.add_argument("--max-tokens", type=_count(1), help="LLM token budget (prompt + completion)")
    p.add_argument("--max-usd", type=_number(0.0, low_open=True),
                   help="LLM spending budget in US dollars")
    p.add_argument("--engine", choices=ENGINES,
                   help="evaluate in worker processes (default), in this process, or as "
                        "Ray tasks (pip install 'autocomp-exo[ray]')")
    p.add_argument("--ray-address", help="engine ray: the cluster to join (as `ray start "
                   "--head` prints it; default: start a local one)")
    p.add_argument("--workers", type=_count(1), help="evaluation worker processes")
    p.add_argument("--timeout", type=_number(0.0, low_open=True),
                   help="seconds per candidate evaluation before its worker is killed")


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
    """The bundled `Workload` of ``gemm:MxNxK``, ``conv:BxDIMxCINxCOUT`` or a suite name
    (the spec's grammar is `lowering.workload_spec.parse_spec`)."""
    from lowering import suite
    from lowering.workload import Workload
    from lowering.workload_spec import parse_spec
    request = parse_spec(text)
    make = suite.gemm if request.kind == "gemm" else suite.conv
    return Workload.from_spec(make(*request.dims))


def load_proc(spec: str):
    """The Exo proc ``NAME`` defined by the user's file ``FILE.py`` (``FILE.py:NAME``)."""
    from exo import Procedure
    path, _, name = spec.rpartition(":")
    if not path.endswith(".py") or not name:
        raise ConfigError(f"{spec!r}: expected FILE.py:NAME")
    file = Path(path)
    if not file.is_file():
        raise ConfigError("file not found" if not file.exists() else "not a file",
                          filename=path)
    mod_spec = importlib.util.spec_from_file_location(f"_autocomp_user_{file.stem}", file)
    module = importlib.util.module_from_spec(mod_spec)
    try:
        mod_spec.loader.exec_module(module)  # the user's own proc file, by their request
    except SyntaxError as e:
        raise ConfigError(f"syntax error: {e.msg}", filename=path, line=e.lineno) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read: {e}", filename=path) from None
    except Exception as e:  # noqa: BLE001 - the user's code failed: say where, not ours
        line = next((f.lineno for f in reversed(traceback.extract_tb(e.__traceback__))
                     if Path(f.filename) == file), None)
        raise ConfigError(f"running it raised {type(e).__name__}: {e}", filename=path,
                          line=line) from None
    if not hasattr(module, name):
        procs = sorted(k for k, v in vars(module).items() if isinstance(v, Procedure))
        raise ConfigError(f"no {name!r} defined (procs there: {', '.join(procs) or 'none'})",
                          filename=path)
    value = getattr(module, name)
    if not isinstance(value, Procedure):
        raise ConfigError(f"{name!r} is a {type(value).__name__}, not an Exo proc",
                          filename=path)
    return value


def read_c_file(path: Path) -> str:
    """The text of a C file, or a ConfigError naming it (missing, unreadable, binary, empty)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror}", filename=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"not a text file (byte 0x{data[e.start]:02x} at offset {e.start} "
                          "is not UTF-8)", filename=str(path)) from None
    if not text.strip():
        raise ConfigError("empty file: expected C code", filename=str(path))
    if "\0" in text:
        raise ConfigError("not a text file (it contains NUL bytes)", filename=str(path))
    return text


def _suite_target(args, settings):
    """(the unoptimized mapping's C, its evaluator, settings) of a suite workload name, or
    None when the target is not one."""
    import dataclasses

    from autocomp_exo.evaluation import ModelEvaluator
    from gemmini.config import DEFAULT_CONFIG
    from lowering import suite
    from lowering.exo_to_c import compile_proc
    from lowering.workload import Workload
    if args.target.endswith((".c", ".py")) or ".py:" in args.target or \
            getattr(args, "workload", None) or getattr(args, "reference", None):
        return None
    try:
        spec = suite.by_name(args.target)
    except KeyError:
        return None
    config = suite.config_of(spec)
    evaluation = settings.evaluation
    if config is not None and evaluation.gemmini != config:
        if evaluation.gemmini != DEFAULT_CONFIG:
            raise ConfigError(f"{spec.name} is written for the {config} configuration, "
                              f"not {evaluation.gemmini}")
        evaluation = dataclasses.replace(evaluation, gemmini=config)
    w = Workload.from_spec(spec)
    settings = dataclasses.replace(settings, evaluation=evaluation, prompts=dataclasses.replace(
        settings.prompts, workload_kind=w.kind))
    code = compile_proc(w.mapped).c_text if w.mapped is not None else w.mapped_c().c_text
    args.workload_obj = w
    return code, ModelEvaluator.from_settings(w, evaluation), settings


def _target(args, settings):
    """(item to optimize, evaluator or None, settings) for a target argument."""
    import dataclasses
    from_suite = _suite_target(args, settings)
    if from_suite is not None:
        return from_suite
    reference = getattr(args, "reference", None)
    if args.target.endswith(".c") or args.workload or reference:
        if not args.workload and not reference:
            raise ConfigError("a C file needs --workload (e.g. gemm:64x64x64) or "
                              "--reference FILE.py:PROC")
        from autocomp_exo.evaluation import ModelEvaluator
        from lowering.parser import parse_c
        from lowering.workload_spec import workload_for_c
        path = Path(args.target)
        text = read_c_file(path)
        parse_c(text, filename=str(path))          # a syntax error names the file and line
        w = workload_for_c(text, str(path), args.workload,
                           load_proc(reference) if reference else None)
        ev = ModelEvaluator.from_settings(w, settings.evaluation)
        settings = dataclasses.replace(settings, prompts=dataclasses.replace(
            settings.prompts, workload_kind=w.kind))
        args.workload_obj = w
        return text, ev, settings
    return load_proc(args.target), None, settings


def _default_run_dir(args) -> str:
    """runs/NAME: the proc's name for FILE.py:NAME, else the file's stem."""
    target = args.target
    stem = target.rpartition(":")[2] if ".py:" in target else Path(target).stem
    return str(Path("runs") / (re.sub(r"[^\w.-]", "_", stem) or "run"))


def cmd_optimize(args, item=None, evaluator=None, settings=None, header=None,
                 workload=None) -> int:
    from autocomp_exo.optimizer import optimize, reuse_schedule
    settings = settings or _settings(args)
    if item is None:
        item, evaluator, settings = _target(args, settings)
        workload = getattr(args, "workload_obj", None)
        sibling = Path(args.target).with_suffix(".h")
        if args.target.endswith(".c") and sibling.exists():
            header = sibling.read_text()       # Exo's header next to its C file
    default_dir = args.run_dir is None
    if default_dir:
        args.run_dir = _default_run_dir(args)
    recipe = getattr(args, "recipe", None)
    items = [x.strip() for x in recipe.split(",") if x.strip()] if recipe else None
    if recipe is not None and not items:
        raise ConfigError(f"--recipe {recipe!r}: expected menu item keys separated by commas")
    for attempt in range(2, 100):
        _say(f"run directory {args.run_dir}" + (" (default; --run-dir to choose)"
                                                if default_dir else ""))
        try:
            if items:
                result = reuse_schedule(item, items, settings=settings, run_dir=args.run_dir,
                                        evaluator=evaluator, fresh=args.fresh,
                                        workload=workload)
            else:
                result = optimize(item, settings=settings, run_dir=args.run_dir,
                                  evaluator=evaluator, fresh=args.fresh, workload=workload)
            break
        except RunDirMismatch as e:
            if not default_dir:
                raise
            _say(f"{e}; trying another")   # a default directory never discards a run
            args.run_dir = f"{_default_run_dir(args)}-{attempt}"
    if header and not result.header:
        result.header = header
    baselines = _baselines(args.run_dir, workload, item, evaluator, settings)
    _print_result(result, baselines)
    out = args.out or str(Path(args.run_dir) / "out")
    _write_out(result, out, settings.evaluation.gemmini)
    return Exit.OK


def _say(text: str) -> None:
    print(f"autocomp-exo: {text}", file=sys.stderr)


def _baselines(run_dir, workload, item, evaluator, settings) -> dict:
    """The baselines' cycles of the run's workload (saved as RUN_DIR/baselines.json)."""
    from autocomp_exo.baselines import workload_baselines
    from autocomp_exo.evaluation import ModelEvaluator
    from lowering.workload import Workload
    if workload is None and not isinstance(item, str):
        try:
            workload = Workload.from_proc(item)
        except AutocompError:
            return {}
    if workload is None:
        return {}
    if evaluator is None:
        evaluator = ModelEvaluator.from_settings(workload, settings.evaluation)
    found = workload_baselines(workload, settings.evaluation.gemmini, evaluator)
    if run_dir:
        write_json(Path(run_dir) / "baselines.json", found)
    return found


def _write_out(result, out: str, gemmini: str) -> None:
    """Write NAME.c / NAME.h unless the directory holds a faster version of the same
    program (NAME.json records it); say which happened."""
    info_path = Path(out) / f"{result.name}.json"
    saved = read_json(info_path)
    if (saved and saved.get("gemmini") == gemmini and saved.get("cycles") is not None
            and saved["cycles"] < result.cycles):
        print(f"kept {Path(out) / (result.name + '.c')}: it is faster ({saved['cycles']:,} "
              f"cycles) than this run's best ({result.cycles:,}); delete it to replace it")
        return
    c, h = result.write(out)
    write_json(info_path, {"name": result.name, "cycles": result.cycles, "gemmini": gemmini,
                           "start_cycles": result.start_cycles, "run_dir": result.run_dir})
    if saved and saved.get("cycles") is not None and saved.get("gemmini") == gemmini:
        print(f"replaced {c} ({saved['cycles']:,} cycles) with a faster version")
    print(f"wrote {c} and {h}")


def step_lines(recipe: list[dict], kind: str = "gemm", start_cycles: int | None = None) -> list:
    """The applied steps in words: menu key, the menu's sentence, cycles before -> after."""
    from autocomp_exo.prompts.builder import load_menu
    try:
        texts = {m.key: m.text for m in load_menu(kind)}
    except ConfigError:
        texts = {}
    lines, before = [], start_cycles
    for i, step in enumerate(recipe, 1):
        key = step.get("menu_item")
        text = texts.get(key, step.get("plan", "")).strip().rstrip(".")
        after = step.get("cycles")
        cycles = f" ({before:,} -> {after:,} cycles)" if before and after else ""
        lines.append(f"{i}. {key or 'unnamed'}: {text}{cycles}")
        before = after
    return lines


def baseline_lines(baselines: dict, cycles: int) -> list[str]:
    from autocomp_exo.baselines import BASELINE_TITLES, beaten_by
    return [f"{BASELINE_TITLES.get(k, k)} is faster: {v:,} cycles ({cycles / v:.2f}x the "
            "result's speed)" for k, v in beaten_by(baselines, cycles)]


def _print_result(result, baselines: dict | None = None) -> None:
    from rich.console import Console
    from rich.table import Table
    from autocomp_exo.baselines import BASELINE_TITLES
    t = Table(title=f"autocomp-exo: {result.name}")
    t.add_column("")
    t.add_column("before (start)", justify="right")
    t.add_column("after (best found)", justify="right")
    t.add_row("cycles", f"{result.start_cycles:,}", f"{result.cycles:,}")
    if result.utilization is not None:   # same ideal cycles, so utilization scales
        before = result.utilization * result.cycles / result.start_cycles
        t.add_row("utilization", f"{100 * before:.1f}%", f"{100 * result.utilization:.1f}%")
    t.add_row("speedup", "1.00x", f"{result.speedup:.2f}x")
    console = Console()
    console.print(t)
    s = Table(show_header=False, box=None)
    if result.resumed:
        s.add_row("resumed", f"yes ({result.reused} evaluations reused)")
    s.add_row("candidates evaluated", str(result.samples))
    s.add_row("stopped", result.stop_reason)
    tokens = sum(v["prompt_tokens"] + v["completion_tokens"] for v in result.usage.values())
    if tokens:
        s.add_row("LLM tokens", f"{tokens:,}")
    for k, v in (baselines or {}).items():
        s.add_row(BASELINE_TITLES.get(k, k), f"{v:,} cycles")
    if result.run_dir:
        s.add_row("run directory", result.run_dir)
    console.print(s)
    steps = step_lines(result.recipe, _kind_of(result), result.start_cycles)
    print("steps applied:" if steps else "steps applied: none (the start was kept)")
    for line in steps:
        print(f"  {line}")
    for line in baseline_lines(baselines or {}, result.cycles) + result.notes:
        print(f"note: {line}")


def _kind_of(result) -> str:
    ident = read_json(Path(result.run_dir) / "identity.json", {}) if result.run_dir else {}
    return ident.get("kind", "gemm")


def cmd_evaluate(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from autocomp_exo.search.evaluator import WRONG, feedback_from_report
    settings = _settings(args)
    item, evaluator, settings = _target(args, settings)
    if evaluator is None:
        from autocomp_exo.evaluation import ModelEvaluator
        from lowering.workload import Workload
        w = Workload.from_proc(item)
        evaluator = ModelEvaluator.from_settings(w, settings.evaluation)
        item = w.mapped_c().c_text
    res = evaluator.evaluate(item)
    fb = res.feedback
    if res.error_kind == WRONG and res.fn is not None:    # wrong, but it ran: time it
        fb = feedback_from_report(evaluator.run(res.fn).report)
    t = Table(title=f"model report: {args.target}")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("correct", "yes" if res.ok else f"no ({res.error_kind})")
    if fb is not None:
        t.add_row("cycles", f"{fb.cycles:,}")
        t.add_row("utilization", f"{100 * fb.utilization:.1f}%")
        t.add_row("scratchpad", f"{fb.sp_kib_used:.1f} KB out of {fb.sp_kib_total:.0f} KB")
        t.add_row("accumulator", f"{fb.acc_kib_used:.1f} KB out of {fb.acc_kib_total:.0f} KB")
        t.add_row("bound", fb.bound)
        for k, v in fb.details.items():
            t.add_row(k, str(v))
    Console().print(t)
    if res.ok:
        return Exit.OK
    message = (res.error_message or "").replace("<candidate>", args.target).splitlines()
    _error(f"{args.target}: {res.error_kind}: {message[0] if message else ''}")
    if res.error_kind in ("parse",):
        return Exit.INPUT
    return Exit.KERNEL_WRONG if res.error_kind in ("wrong", "hardware") else Exit.INTERNAL


def cmd_workloads(args) -> int:
    """Print the bundled workloads: name, kind, configuration, shape."""
    from rich.console import Console
    from rich.table import Table

    from lowering import suite
    t = Table(title="bundled workloads (a name is a target of evaluate / optimize)")
    for col in ("name", "kind", "configuration", "shape"):
        t.add_column(col)
    for spec in suite.ALL:
        shape = " ".join(f"{k}={v}" for k, v in spec.shape)
        t.add_row(spec.name, spec.kind, suite.config_of(spec) or "any int8 (int8_16 default)",
                  shape)
    Console(width=max(100, Console().width)).print(t)
    return Exit.OK


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
    baselines = read_json(Path(args.dir) / "baselines.json", {})
    if best:
        t.add_row("start cycles", f"{best['start_cycles']:,}")
        t.add_row("best cycles", f"{best['cycles']:,}")
        t.add_row("speedup", f"{best['speedup']:.2f}x")
        t.add_row("trajectory", " ".join(map(str, best["trajectory"])))
        kind = (run.get("identity") or {}).get("kind", "gemm")
        steps = step_lines(best["recipe"], kind, best["start_cycles"])
        t.add_row("steps applied", "\n".join(steps) or "none (the start was kept)")
    from autocomp_exo.baselines import BASELINE_TITLES
    for k, v in baselines.items():
        t.add_row(BASELINE_TITLES.get(k, k), f"{v:,} cycles")
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
    if best:
        for line in baseline_lines(baselines, best["cycles"]):
            print(f"note: {line}")
    return Exit.OK


def cmd_report(args) -> int:
    from autocomp_exo.report import write_report
    path = write_report(args.dir, args.out)
    print(f"wrote {path}")
    return Exit.OK


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


def cmd_db(args) -> int:
    """``db show | import RUN_DIR --proc FILE.py:NAME | prune``."""
    from autocomp_exo import build
    from autocomp_exo.settings import load_settings
    from autocomp_exo.tuning_db import TuningDB
    from autocomp_exo.search.reuse import step_key
    settings = load_settings(args.settings)
    db = TuningDB(build.database_path(args.db, settings))
    if args.db_command == "import":
        e = build.import_run(db, args.dir, load_proc(args.proc), settings)
        print(f"{db.path}: {e.name} {e.key} {e.cycles:,} cycles ({e.source})")
    elif args.db_command == "prune":
        keys = tuple(e.key for e in db.entries() if any(e.key.startswith(k) for k in args.key))
        gone = db.prune(keys=keys)
        print(f"{db.path}: deleted {len(gone)} entr{'y' if len(gone) == 1 else 'ies'}"
              + "".join(f"\n  {e.name} {e.key}" for e in gone))
    else:
        entries = db.entries()
        for e in entries:
            state = "stale" if e.stale else "current"
            print(f"{e.key}  {e.name:24s} {e.kind:5s} {e.gemmini:8s} {e.cycles:>12,} cycles "
                  f"(Exo {e.start_cycles or 0:,})  {state:7s} {e.source}  steps: "
                  f"{','.join(str(step_key(k)) for k in e.steps) or '-'}")
        print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} in {db.path}",
              file=sys.stderr)
    return Exit.OK


QUICKSTART_WORKLOAD = "gemm:64x64x64"
QUICKSTART_DIR = Path("runs") / "quickstart"


def cmd_quickstart(args) -> int:
    """Optimize a bundled GEMM with the default (built-in) proposer; resumable."""
    from autocomp_exo.evaluation import ModelEvaluator
    args.run_dir = args.run_dir or str(QUICKSTART_DIR)
    settings = _settings(args)
    w = parse_workload(QUICKSTART_WORKLOAD)
    ev = ModelEvaluator.from_settings(w, settings.evaluation)
    exo_c = w.mapped_c()
    args.target = QUICKSTART_WORKLOAD
    return cmd_optimize(args, item=exo_c.c_text, evaluator=ev, settings=settings,
                        header=exo_c.h_text, workload=w)


def _error(text: str) -> None:
    print(f"autocomp-exo: error: {text}", file=sys.stderr)


def _interrupted(args) -> int:
    run_dir = getattr(args, "run_dir", None)
    best = read_json(Path(run_dir) / "best.json") if run_dir else None
    if best:
        _say(f"interrupted; best so far ({best['cycles']:,} cycles) saved in "
             f"{Path(run_dir) / 'best.c'}; run again to resume")
    elif run_dir:
        _say(f"interrupted; nothing better than the start yet; run again to resume "
             f"({run_dir})")
    else:
        _say("interrupted")
    return Exit.INTERRUPTED


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    # notes (resumed, stale lock) and, off a terminal, progress as log lines on stderr
    logging.basicConfig(level=logging.INFO, format="autocomp-exo: %(message)s")
    commands = {"optimize": cmd_optimize, "evaluate": cmd_evaluate, "runs": cmd_runs_show,
                "workloads": cmd_workloads,
                "report": cmd_report, "quickstart": cmd_quickstart,
                "exchange": cmd_exchange_pending, "db": cmd_db}
    old = signal.signal(signal.SIGTERM, _sigterm) if _main_thread() else None
    try:
        return int(commands[args.command](args))
    except KeyboardInterrupt:
        if verbose:
            traceback.print_exc()
        return _interrupted(args)
    except EndpointError as e:
        if verbose:
            traceback.print_exc()
        _error(_one_line(str(e)) + " (the results so far are saved)")
        return Exit.ENDPOINT
    except AutocompError as e:
        if verbose:
            traceback.print_exc()
        target = getattr(args, "target", None)
        where = f"{target}: " if target and not e.filename and target not in str(e) else ""
        _error(_one_line(where + str(e)))
        return Exit.INPUT
    except OSError as e:
        if verbose:
            traceback.print_exc()
        where = f"{e.filename}: " if e.filename else ""
        _error(f"cannot write {where}{e.strerror or e}")
        return Exit.OUTPUT
    except Exception as e:  # noqa: BLE001 - a bug: one line, the traceback on request
        if verbose:
            traceback.print_exc()
        _error(f"internal error: {type(e).__name__}: {_one_line(str(e))} (rerun with "
               "--verbose for the traceback, and please report it)")
        return Exit.INTERNAL
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _one_line(text: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    return lines[0] + (" ..." if len(lines) > 1 else "") if lines else "(no message)"


if __name__ == "__main__":
    sys.exit(main())
