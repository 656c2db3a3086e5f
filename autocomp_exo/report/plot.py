"""The report's plot: best cycles so far against candidates evaluated (matplotlib, inline SVG)."""

from __future__ import annotations

import io


def best_so_far_svg(samples: list[tuple[int, int | None]], start_cycles: int,
                    baselines: dict[str, int], titles: dict[str, str]) -> str:
    """An SVG of the best cycles after each evaluated candidate; ``samples`` are
    (sample number, cycles of a correct candidate or None), ``baselines`` dashed lines."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.6), dpi=100)
    ax = fig.add_subplot()
    xs, best, dots = [0], [start_cycles], []
    current = start_cycles
    for n, cycles in samples:
        if cycles is not None:
            dots.append((n, cycles))
            current = min(current, cycles)
        xs.append(n)
        best.append(current)
    if dots:
        ax.scatter(*zip(*dots), s=6, color="#bbbbbb", label="correct candidates", zorder=1)
    ax.step(xs, best, where="post", color="#1f5fa8", linewidth=2, label="best so far",
            zorder=3)
    for i, (name, cycles) in enumerate(sorted(baselines.items())):
        ax.axhline(cycles, linestyle="--", linewidth=1, color=f"C{i + 1}",
                   label=f"{titles.get(name, name)}: {cycles:,}")
    ax.set_xlabel("candidates evaluated")
    ax.set_ylabel("cycles")
    top = max([start_cycles, *baselines.values()]) * 1.05
    ax.set_ylim(0, top)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]
