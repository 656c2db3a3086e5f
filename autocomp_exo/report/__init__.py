"""``autocomp-exo report RUN_DIR``: one self-contained HTML file (no network, every asset
inline) about a run: best cycles against samples, the engines' busy cycles before and
after, the baselines, the beam's lineage as a tree, each applied step in words with its
code diff, and the final code. The page is `template.html` with `string.Template` fields.
"""

from __future__ import annotations

import difflib
from html import escape
from pathlib import Path
from string import Template

from autocomp_exo import __version__
from autocomp_exo.baselines import BASELINE_TITLES, beaten_by
from autocomp_exo.prompts.builder import load_menu
from autocomp_exo.report.plot import best_so_far_svg
from autocomp_exo.report.tree import lineage_svg
from autocomp_exo.runs import atomic_write, load_run, read_json, read_jsonl
from gemmini.errors import ConfigError

TEMPLATE = Path(__file__).with_name("template.html")


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default RUN_DIR/report.html)."""
    path = Path(out) if out else Path(run_dir) / "report.html"
    atomic_write(path, render(run_dir))
    return path


def render(run_dir: str | Path) -> str:
    """The report's HTML text."""
    run = load_run(run_dir)
    d = Path(run_dir)
    best = run["best"]
    if not best:
        raise ConfigError("no result saved yet (best.json missing): run optimize first",
                          filename=str(d))
    ident = run["identity"] or {}
    kind = ident.get("kind", "gemm")
    baselines = read_json(d / "baselines.json", {}) or {}
    evals = {r["key"]: r for r in read_jsonl(d / "evals.jsonl") if r.get("key")}
    events = _last_search(run["events"])
    start_key = next((e.get("key") for e in events if e["event"] == "search_start"), None)
    cycles, start_cycles = best["cycles"], best["start_cycles"]
    beaten = beaten_by(baselines, cycles)
    notes = [f"{BASELINE_TITLES.get(k, k)} is faster than the result: {v:,} cycles"
             for k, v in beaten]
    status = run["status"]
    if status.get("state") not in (None, "finished"):
        notes.append(f"run state: {status.get('state')}")
    fields = {
        "name": escape(best.get("name", d.name)),
        "subtitle": escape(f"{kind.upper()} on Gemmini {ident.get('gemmini', '?')}; "
                           f"{best.get('samples', 0)} candidates evaluated; stopped: "
                           f"{status.get('stop_reason') or status.get('state', '?')}"),
        "headline": f"{start_cycles:,} &rarr; {cycles:,} cycles "
                    f"({best.get('speedup', start_cycles / cycles):.2f}x)",
        "notes": "".join(f'<p class="note">{escape(n)}</p>' for n in notes),
        "plot": best_so_far_svg(_samples(events), start_cycles, baselines, BASELINE_TITLES),
        "engines": _engines(evals.get(start_key), evals.get(best.get("key"))),
        "baselines": _baselines_table(start_cycles, cycles, baselines),
        "tree": lineage_svg(run["lineage"], _path(best)),
        "steps": _steps(d, best, kind),
        "final_name": escape("best_toolchain.c" if (d / "best_toolchain.c").exists()
                             else "best.c"),
        "final_code": escape(_read(d / "best_toolchain.c") or run["best_code"] or ""),
        "version": __version__,
        "run_dir": escape(str(d)),
    }
    return Template(TEMPLATE.read_text()).substitute(fields)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _last_search(events: list[dict]) -> list[dict]:
    """The search's events, one copy per iteration: a resumed session continues after the
    last saved iteration or replays from the start, so each iteration's events are taken
    from the last session that logged it."""
    by_iteration: dict[int, list[dict]] = {}
    session: dict[int, list[dict]] = {}
    for e in events + [{"event": "run_start"}]:
        if e.get("event") == "run_start":
            by_iteration.update(session)
            session = {}
            continue
        if e.get("event") == "search_start":
            session[0] = [e]
        elif "iteration" in e and e.get("event") in ("candidate", "beam"):
            session.setdefault(int(e["iteration"]), []).append(e)
    return [e for it in sorted(by_iteration) for e in by_iteration[it]]


def _samples(events: list[dict]) -> list[tuple[int, int | None]]:
    out = []
    for e in events:
        if e.get("event") == "candidate":
            out.append((len(out) + 1, e.get("cycles") if e.get("ok") else None))
    return out


def _path(best: dict) -> list[str]:
    recipe = best.get("recipe") or []
    if not recipe:
        return [best["key"]] if best.get("key") else []
    return [recipe[0]["from"]] + [s["to"] for s in recipe]


def _engines(before: dict | None, after: dict | None) -> str:
    def busy(rec):
        return ((rec or {}).get("feedback") or {}).get("details", {}).get("busy", {})
    a, b = busy(before), busy(after)
    if not a and not b:
        return "<p>No engine data saved.</p>"
    top = max([*a.values(), *b.values(), 1])
    rows = []
    for engine in sorted(set(a) | set(b)):
        x, y = a.get(engine), b.get(engine)
        rows.append(f"<tr><td>{escape(engine)}</td><td>{_n(x)}</td><td>{_n(y)}</td>"
                    f"<td>{_bar(x, top, '#bbb')}{_bar(y, top, '#1f5fa8')}</td></tr>")
    return ('<table id="engines"><tr><th>engine</th><th>busy before</th><th>busy after</th>'
            '<th>(grey before, blue after)</th></tr>' + "".join(rows) + "</table>")


def _n(x) -> str:
    return f"{x:,}" if isinstance(x, (int, float)) else "-"


def _bar(x, top, color) -> str:
    width = int(240 * (x or 0) / top)
    return (f'<div style="background:{color};height:7px;width:{width}px;margin:2px 0">'
            "</div>")


def _baselines_table(start: int, cycles: int, baselines: dict) -> str:
    rows = [("exo_unoptimized", start), *sorted(baselines.items(), key=lambda kv: kv[1])]
    out = ['<table id="baselines"><tr><th>program</th><th>cycles</th>'
           "<th>result's speed vs it</th></tr>",
           f'<tr><td><b>search result</b></td><td><b>{cycles:,}</b></td><td>1.00x</td></tr>']
    for name, c in rows:
        cls = "beaten" if c < cycles else "win"
        out.append(f'<tr class="{cls}"><td>{escape(BASELINE_TITLES.get(name, name))}</td>'
                   f"<td>{c:,}</td><td>{c / cycles:.2f}x</td></tr>")
    if "exo_hand" not in baselines:
        out.append("<tr><td>Exo, hand schedule</td><td>-</td><td>not computed here (see "
                   "python -m benchmarks.run_baselines)</td></tr>")
    return "".join(out) + "</table>"


def _steps(d: Path, best: dict, kind: str) -> str:
    recipe = best.get("recipe") or []
    if not recipe:
        return "<p>No step applied: the starting code was kept.</p>"
    try:
        texts = {m.key: m.text for m in load_menu(kind)}
    except ConfigError:
        texts = {}
    out, before = [], best["start_cycles"]
    for i, step in enumerate(recipe, 1):
        key = step.get("menu_item") or "unnamed"
        after = step.get("cycles")
        title = (f"{i}. {key}: {texts.get(key, '').rstrip('.')} "
                 f"({before:,} &rarr; {after:,} cycles)" if before and after else f"{i}. {key}")
        a = _read(d / "candidates" / f"{step['from']}.c") or ""
        b = _read(d / "candidates" / f"{step['to']}.c") or ""
        diff = difflib.unified_diff(a.splitlines(), b.splitlines(), "before", "after",
                                    lineterm="", n=2)
        lines = []
        for line in diff:
            cls = ("add" if line.startswith("+") else "del" if line.startswith("-")
                   else "hunk" if line.startswith("@@") else "")
            lines.append(f'<span class="{cls}">{escape(line)}</span>' if cls
                         else escape(line) + "\n")
        out.append(f'<details class="step"{" open" if i == 1 else ""}><summary>{title}</summary>'
                   f"<p>{escape(step.get('plan') or '')} <i>(planned by "
                   f"{escape(str(step.get('planner')))}, written by "
                   f"{escape(str(step.get('implementer')))})</i></p>"
                   f'<pre class="diff">{"".join(lines) or "(no textual change)"}</pre>'
                   "</details>")
        before = after
    return "\n".join(out)
