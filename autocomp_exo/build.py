"""``compile_procs``: Exo's ``compile_procs`` with each proc's best known code.

``compile_procs(procs, basedir, c_file, h_file)`` has the shape of ``exo.compile_procs``
so that a build script swaps one import. The header is Exo's own (same guard,
context struct and prototypes); the .c file holds, for every proc, the best code of
the tuning database (`autocomp_exo.tuning_db`), found by a search on a miss, or
Exo's own code for a proc without an entry when searching is off (``search=False``
or ``AUTOCOMP_EXO_NO_SEARCH=1``; one warning line per proc). A miss for a proc close
to stored ones starts with their steps (`autocomp_exo.optimizer.reuse_schedules`).
Files are rewritten only when their text changes, and the same database and procs
give byte-identical files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import exo

from autocomp_exo.evaluation import ModelEvaluator
from autocomp_exo.optimizer import (Budget, OptimizeResult, _apply_budget, _resolve_settings,
                                    optimize, reuse_schedules)
from autocomp_exo.prompts.builder import load_menu
from autocomp_exo.runs import atomic_write, read_json
from autocomp_exo.search.evaluator import compact_code
from autocomp_exo.search.reuse import is_seed, recorded_steps, step_key
from autocomp_exo.settings import Settings, from_dict, to_dict
from autocomp_exo.tuning_db import Entry, TuningDB, entry_key, model_version
from gemmini.errors import AutocompError, ConfigError
from lowering.parser import parse_c
from lowering.print_toolchain import to_toolchain_c
from lowering.workload import Workload

log = logging.getLogger("autocomp_exo.build")

NO_SEARCH_ENV = "AUTOCOMP_EXO_NO_SEARCH"    # "1": never search (CI builds)
TUNING_DB_ENV = "AUTOCOMP_EXO_TUNING_DB"    # the tuning database file, over settings


class BuildError(AutocompError):
    """Optimized code that cannot stand in for Exo's (another signature)."""


@dataclass(frozen=True)
class ProcOutcome:
    """What `compile_procs` emitted for one proc."""
    name: str
    source: str             # database | reverified | search | reuse | exo
    cycles: int | None      # on the model (None: Exo's own code, not measured)
    key: str


@dataclass(frozen=True)
class _Target:
    proc: object
    workload: Workload
    start_c: str
    key: str


def search_enabled(search: bool | None, settings: Settings) -> bool:
    """Whether a miss may search: ``search`` if given, else not when ``AUTOCOMP_EXO_NO_SEARCH``
    is set to anything but ``0`` / empty, else the ``build.search`` setting."""
    if search is not None:
        return search
    if os.environ.get(NO_SEARCH_ENV, "").strip() not in ("", "0"):
        return False
    return settings.build.search


def database_path(db, settings: Settings) -> Path:
    """The tuning database: ``db`` if given, else ``$AUTOCOMP_EXO_TUNING_DB``, else the
    ``build.tuning_db`` setting."""
    return Path(db or os.environ.get(TUNING_DB_ENV) or settings.build.tuning_db)


def _target(proc, gemmini: str) -> _Target:
    workload = Workload.from_proc(proc)
    start = workload.mapped_c().c_text
    return _Target(proc, workload, start, entry_key(str(workload.algorithm), start, gemmini))


def _shape(workload: Workload) -> dict:
    return {p.name: list(p.shape) for p in workload.signature if p.is_array}


def measure(code: str, workload: Workload, settings: Settings):
    """(compact code, cycles, report) of ``code`` on the current model, checked against
    the workload's reference on the settings' input sets; None when it is not correct."""
    ev = ModelEvaluator.from_settings(workload, settings.evaluation)
    res = ev.evaluate(code)
    if not res.ok:
        return None
    checked = ev.run(res.fn)
    return compact_code(res.fn) or res.code, res.cycles, checked.report.to_dict()


def _entry(t: _Target, settings: Settings, code: str, cycles: int, report: dict,
           steps: list, start_cycles: int | None, source: str) -> Entry:
    found_by = to_dict(settings)
    found_by.pop("build", None)
    return Entry(key=t.key, name=t.workload.name, kind=t.workload.kind,
                 gemmini=settings.evaluation.gemmini, shape=_shape(t.workload),
                 model_version=model_version(), cycles=cycles, start_cycles=start_cycles,
                 code=code, report=report, steps=list(steps), settings=found_by,
                 source=source)


def _reverify(entry: Entry, t: _Target, settings: Settings, db: TuningDB) -> Entry | None:
    """A stale entry measured again on the current model (None: no longer correct)."""
    measured = measure(entry.code, t.workload, settings)
    if measured is None:
        log.warning("%s: the tuning database's code is wrong on the current model; "
                    "not used", t.workload.name)
        return None
    _, cycles, report = measured
    return db.put(dataclasses.replace(entry, cycles=cycles, report=report,
                                      model_version=model_version(), source="reverified"))


def _seed_recipes(entries: list[Entry], kind: str, settings: Settings) -> list[list]:
    """The recorded steps of ``entries`` as recipes (a step this kind's menu lacks offers
    nothing; a seed program stays: the replay starts from the target's own)."""
    keys = {m.key for m in load_menu(kind, settings.prompts.menu_file)}
    return [[step if step_key(step) in keys or is_seed(step) else None for step in e.steps]
            for e in entries]


def _search(t: _Target, settings: Settings, db: TuningDB, progress) -> tuple[Entry, str]:
    """Search for ``t`` (seeded by the closest entries when reuse is on); store the result."""
    b = settings.build
    seeds = db.nearest(t.workload.kind, _shape(t.workload), settings.evaluation.gemmini,
                       n=b.reuse_entries, exclude=t.key) if b.reuse else []
    if seeds:
        log.info("%s: reusing the steps of %s", t.workload.name,
                 ", ".join(e.name for e in seeds))
        result: OptimizeResult = reuse_schedules(
            t.proc, _seed_recipes(seeds, t.workload.kind, settings), settings=settings,
            refine_iterations=b.refine_iterations, replay_share=b.reuse_share,
            progress=progress)
    else:
        result = optimize(t.proc, settings=settings, progress=progress)
    measured = measure(result.code, t.workload, settings)
    if measured is None:      # the search checked it; a failure here is a bug
        raise BuildError("the search's best code fails the check", filename=t.workload.name)
    code, cycles, report = measured
    entry = _entry(t, settings, code, cycles, report, recorded_steps(result.recipe),
                   result.start_cycles, "reuse" if seeds else "search")
    return db.put(entry), "reuse" if seeds else "search"


def _tune(t: _Target, settings: Settings, db: TuningDB, searching: bool,
          progress) -> tuple[Entry | None, str]:
    entry = db.get(t.key)
    if entry is not None and entry.stale:
        entry = _reverify(entry, t, settings, db)
        if entry is not None:
            return entry, "reverified"
    if entry is not None:
        return entry, "database"
    if not searching:
        log.warning("%s: not in the tuning database %s and searching is off; emitting "
                    "Exo's own code", t.workload.name, db.path)
        return None, "exo"
    return _search(t, settings, db, progress)


# -- emitting ---------------------------------------------------------------

def _definition_line(c_text: str, name: str) -> str | None:
    return next((line for line in c_text.splitlines()
                 if line.startswith(f"void {name}(") and line.endswith("{")), None)


_CONTEXT_ARG = re.compile(r"\(\s*(?:const\s+)?\w+\s*\*\s*ctxt\s*,?\s*")


def function_c(entry: Entry, name: str, exo_c: str) -> str:
    """The toolchain C of ``entry``'s code as proc ``name`` (signature comment and
    definition) with the definition line Exo emits for the proc (its context type);
    `BuildError` if the two lines differ in anything but that type."""
    fn = parse_c(entry.code, filename=f"<tuning database entry {entry.key}>")
    lines = to_toolchain_c(dataclasses.replace(fn, name=name)).splitlines()
    first = next(i for i, line in enumerate(lines)
                 if line.startswith((f"// {name}(", f"void {name}(")))
    body = lines[first:]
    ours, exos = _definition_line("\n".join(body), name), _definition_line(exo_c, name)
    if ours is None or exos is None or \
            _CONTEXT_ARG.sub("(", ours) != _CONTEXT_ARG.sub("(", exos):
        raise BuildError(f"the optimized code's signature differs from Exo's:\n  ours: {ours}"
                         f"\n  Exo's: {exos}", filename=f"proc {name}")
    body[body.index(ours)] = exos
    note = (f"// autocomp-exo: tuning database entry {entry.key}, {entry.cycles} cycles on "
            f"the model ({entry.gemmini}; Exo's code: {entry.start_cycles} cycles)")
    return "\n".join([note, *body]) + "\n"


_GEMMINI_INCLUDE = "#include <include/gemmini.h>"     # as Exo's Gemmini library includes it


def _preamble(h_file: str) -> str:
    return "\n".join([f'#include "{h_file}"', "", "#include <stdint.h>",
                      "#include <stdbool.h>", "", _GEMMINI_INCLUDE, ""]) + "\n"


def emit(procs, entries: dict[str, Entry], h_file: str) -> tuple[str, str]:
    """(.c text, .h text) for ``procs``: Exo's header; in the .c, Exo's code of every proc
    without an entry, then the entries' code in the order of ``procs``."""
    all_c, h_text = exo.compile_procs_to_strings(list(procs), h_file)
    fallback = [p for p in procs if p.name() not in entries]
    c_text = exo.compile_procs_to_strings(fallback, h_file)[0] if fallback else _preamble(h_file)
    if fallback and entries:        # Exo's C of plain-C procs does not include gemmini.h
        c_text = c_text.rstrip("\n") + "\n\n" + _GEMMINI_INCLUDE + "\n"
    for p in procs:
        if p.name() in entries:
            c_text = (c_text.rstrip("\n") + "\n\n"
                      + function_c(entries[p.name()], p.name(), all_c))
    return c_text, h_text


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` atomically unless ``path`` already holds it (its mtime then stays,
    so make sees nothing new); whether it wrote."""
    try:
        if path.read_text() == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write(path, text)
    return True


def compile_procs(proc_list, basedir, c_file: str, h_file: str, *, settings=None,
                  db: str | Path | None = None, search: bool | None = None,
                  budget: Budget | None = None, progress=False) -> list[ProcOutcome]:
    """Write ``basedir/c_file`` and ``basedir/h_file`` for the Exo procs of ``proc_list``
    like ``exo.compile_procs`` (same parameters), each proc with its best known code: from the tuning database
    ``db`` (default: ``$AUTOCOMP_EXO_TUNING_DB``, else the ``build.tuning_db`` setting),
    re-verified first if measured on another model version; on a miss a search with the
    ``build.max_samples`` budget (or ``budget``), seeded by the closest entries' steps;
    with ``search=False`` (or ``AUTOCOMP_EXO_NO_SEARCH=1``) Exo's own code and a warning.
    Returns what each proc got."""
    procs = list(proc_list)
    names = [p.name() for p in procs]
    if len(set(names)) != len(names):
        raise ConfigError(f"compile_procs: two procs are named "
                          f"{next(n for n in names if names.count(n) > 1)!r}")
    s = _resolve_settings(settings)
    if budget is None:
        budget = Budget(max_samples=s.build.max_samples)
    s = _apply_budget(s, budget)
    tuning = TuningDB(database_path(db, s))
    searching = search_enabled(search, s)
    entries: dict[str, Entry] = {}
    outcomes = []
    for proc in procs:
        t = _target(proc, s.evaluation.gemmini)
        entry, source = _tune(t, s, tuning, searching, progress)
        if entry is not None:
            entries[proc.name()] = entry
        outcomes.append(ProcOutcome(proc.name(), source, entry.cycles if entry else None,
                                    t.key))
    c_text, h_text = emit(procs, entries, h_file)
    base = Path(basedir)
    write_if_changed(base / c_file, c_text)
    write_if_changed(base / h_file, h_text)
    return outcomes


def import_run(db: TuningDB, run_dir: str | Path, proc, settings=None) -> Entry:
    """Store the best result of run directory ``run_dir`` (a search of Exo proc ``proc``)
    in ``db``, measured again on the current model (never trusted as recorded)."""
    run = Path(run_dir)
    best, ident = read_json(run / "best.json"), read_json(run / "identity.json", {})
    if not best or not (run / "best.c").exists():
        raise ConfigError("no best result (best.json, best.c): not a finished run directory",
                          filename=str(run))
    s = _resolve_settings(settings)
    config = read_json(run / "config.json")
    if config:
        s = from_dict(Settings, config, where=str(run / "config.json"))
    t = _target(proc, s.evaluation.gemmini)
    if ident.get("start") != hashlib.sha256(t.start_c.encode()).hexdigest()[:16]:
        raise ConfigError(f"is a run of another program than proc {t.workload.name} "
                          "(its start code differs)", filename=str(run))
    measured = measure((run / "best.c").read_text(), t.workload, s)
    if measured is None:
        raise ConfigError("its best code is not correct on the current model",
                          filename=str(run / "best.c"))
    code, cycles, report = measured
    return db.put(_entry(t, s, code, cycles, report, recorded_steps(best.get("recipe", [])),
                         best.get("start_cycles"), f"import:{run}"))
