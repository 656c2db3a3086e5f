"""Progress of a search as a person sees it: a rich progress bar on a terminal, log records
(logger ``autocomp_exo.progress``) elsewhere, nothing with ``progress=False``."""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Callable, Iterator

log = logging.getLogger("autocomp_exo.progress")


def _status(state) -> str:
    speed = (f" ({state.start_cycles / state.best_cycles:.2f}x)"
             if state.best_cycles and state.start_cycles else "")
    tokens = f", {state.tokens:,} tokens" if state.tokens else ""
    best = f"{state.best_cycles:,}" if state.best_cycles else "-"
    return f"best {best} cycles{speed}, {state.samples} evaluated{tokens}"


@contextlib.contextmanager
def _rich_bar(total: int) -> Iterator[Callable]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("search", total=max(1, total), status="starting")

        def update(state):
            done = state.iteration - (state.phase in ("plan", "implement"))
            bar.update(task, completed=max(0, done), total=max(1, state.total_iterations),
                       description=f"iteration {state.iteration}/{state.total_iterations}",
                       status=f"{state.phase:9s} {_status(state)}")
        yield update


@contextlib.contextmanager
def _logging(total: int) -> Iterator[Callable]:
    seen: set[int] = set()

    def update(state):
        if state.phase == "plan" and state.iteration not in seen:
            seen.add(state.iteration)
            log.info("iteration %d/%d: %s", state.iteration, state.total_iterations,
                     _status(state))
    yield update


@contextlib.contextmanager
def reporter(progress, total: int) -> Iterator[Callable | None]:
    """The progress callback for ``optimize(progress=...)``: None (a bar on a terminal, else
    logging), False (silent) or a callable taking `search.beam.SearchState`."""
    if progress is False:
        yield None
    elif callable(progress):
        yield progress
    elif progress is None and sys.stderr.isatty():
        with _rich_bar(total) as update:
            yield update
    else:
        with _logging(total) as update:
            yield update
