"""Charts of the draw history as SVG or PNG, drawn by matplotlib: cut-off over time (one
line per category or stream), invitations per month, and the score distribution of the
pool a round drew from.

matplotlib loads on the first chart (never at CLI start-up), with its non-interactive Agg
backend, and only through ``Figure`` objects: no pyplot state shared between the web
server's threads.
"""
from __future__ import annotations

import io
import logging
import threading
from datetime import date
from typing import Sequence

from scraper.sources import registry
from store.stats import Point, by_category, monthly_invitations

log = logging.getLogger(__name__)

FORMATS = ("svg", "png")
WIDTH, HEIGHT = 9.0, 4.2  # inches: a page's width at the default 100 dpi
# matplotlib's settings are global: one chart is written at a time (the web server
# draws from several threads).
_SAVING = threading.Lock()
LEGEND_CHARS = 42  # a legend label's length: the legend keeps to the right third


class ChartError(ValueError):
    """Nothing to draw (names what was asked for)."""


def _figure(rows: int = 1, right: float = 0.97, left: float = 0.1):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH, HEIGHT * rows))
    # Fixed margins, the legend in the right third: a constrained layout costs a third
    # of the drawing time.
    fig.subplots_adjust(left=left, right=right, bottom=0.12 / rows, top=1 - 0.08 / rows, hspace=0.35)
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    return fig, list(axes)


def _dates(ax) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.grid(True, alpha=0.3)


def _thousands():
    from matplotlib.ticker import StrMethodFormatter

    return StrMethodFormatter("{x:,.0f}")


def _save(fig, fmt: str, salt: str) -> bytes:
    import matplotlib

    if fmt not in FORMATS:
        raise ChartError(f"{fmt!r} is no chart format ({', '.join(FORMATS)})")
    buf = io.BytesIO()
    # Inline SVGs of one page must not share element ids (clip paths): each chart its
    # salt. Text stays text: smaller, selectable, searchable.
    with _SAVING, matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        fig.savefig(buf, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def _line_name(source: str, category: str | None, several_sources: bool) -> str:
    rules = registry.get(source)
    name = rules.category_name(category)
    return f"{rules.display_name}: {name}" if several_sources else name


def _short(label: str, most: int = LEGEND_CHARS) -> str:
    return label if len(label) <= most else label[:most - 1].rstrip() + "…"


def cutoff_chart(points: Sequence[Point], fmt: str = "svg", *, salt: str = "cutoffs") -> bytes:
    """The lowest score invited over time, one line per category or stream; one panel per
    score system (CRS and a province's points are different scales)."""
    import matplotlib

    scored = [p for p in points if p.score_min is not None]
    if not scored:
        raise ChartError("no draw with a cut-off score in the chosen period")
    systems: dict[tuple[str, str | None], list[Point]] = {}
    for p in scored:
        systems.setdefault((registry.get(p.source).score_label(p.score_system), p.score_system), []).append(p)
    several = len({p.source for p in scored}) > 1
    fig, axes = _figure(len(systems), right=0.62)
    for ax, ((label, _), rows) in zip(axes, sorted(systems.items(), key=lambda kv: kv[0][0])):
        lines = sorted(by_category(rows).items(), key=lambda kv: -len(kv[1]))
        # 20 distinct colours: Express Entry alone has more categories than the default 10.
        ax.set_prop_cycle(color=[matplotlib.colormaps["tab20"](i % 20) for i in range(len(lines))])
        for (source, category), line in lines:
            ax.plot([p.date for p in line], [p.score_min for p in line], marker="o", markersize=2.5, linewidth=1.2,
                    label=_short(_line_name(source, category, several)))
        ax.set_ylabel(f"{label} cut-off (lowest invited)")
        ax.set_title(f"{label} cut-off per round")
        _dates(ax)
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False,
                  handlelength=1.5)
    return _save(fig, fmt, salt)


def invitations_chart(points: Sequence[Point], fmt: str = "svg", *, salt: str = "invitations") -> bytes:
    """Invitations issued per month, stacked by source."""
    months = monthly_invitations(points)
    if not any(sum(m.values()) for m in months.values()):
        raise ChartError("no draw with a number of invitations in the chosen period")
    fig, (ax,) = _figure(1)
    # Steps filled between running totals: one shape per source, not one bar per month
    # (hundreds of bars make the slowest chart of all).
    first = min(d for m in months.values() for d in m)
    last = max(d for m in months.values() for d in m)
    days = _months(first, last)
    below = [0] * len(days)
    for source, counts in sorted(months.items()):
        above = [b + counts.get(d, 0) for b, d in zip(below, days)]
        ax.fill_between(days, below, above, step="post", linewidth=0, label=registry.get(source).display_name)
        below = above
    ax.yaxis.set_major_formatter(_thousands())
    ax.set_ylabel("Invitations per month")
    ax.set_title("Invitations issued per month")
    _dates(ax)
    ax.legend(fontsize="small", frameon=False)
    return _save(fig, fmt, salt)


def _months(first: date, last: date) -> list[date]:
    """The first days of the months from ``first`` to the month after ``last`` (where
    the last step ends)."""
    days, day = [], first
    while day <= last:
        days.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return days + [day]


def distribution(extra: dict) -> dict[str, int] | None:
    """The pool's score bands {band: candidates} a round's source published, if any."""
    buckets = ((extra or {}).get("distribution") or {}).get("buckets") or {}
    known = {band: n for band, n in buckets.items() if n is not None}
    return known or None


def _band_floor(band: str) -> int:
    head = band.split("-", 1)[0].strip()
    return int(head) if head.isdigit() else 0


def pool_chart(draw, fmt: str = "svg", *, salt: str = "pool") -> bytes:
    """Candidates in the pool per score band on the round's distribution date; the round's
    cut-off marked."""
    bands = distribution(draw.extra)
    if not bands:
        raise ChartError(f"{draw.source} draw {draw.key} has no published pool distribution")
    rules = registry.get(draw.source)
    label = rules.score_label(draw.score_system)
    ordered = sorted(bands.items(), key=lambda kv: _band_floor(kv[0]))
    fig, (ax,) = _figure(1, left=0.14)  # room for the bands' names
    colours = ["tab:green" if draw.score_min is not None and _band_floor(b) >= draw.score_min else "tab:gray"
               for b, _ in ordered]
    ax.barh([b for b, _ in ordered], [n for _, n in ordered], color=colours)
    ax.set_ylabel(f"{label} band")
    ax.xaxis.set_major_formatter(_thousands())
    ax.set_xlabel("Candidates in the pool")
    as_on = (draw.extra.get("distribution") or {}).get("as_on")
    ax.set_title(f"{rules.display_name} pool{' on ' + as_on if as_on else ''} "
                 f"(round {draw.key}, cut-off {draw.score_min if draw.score_min is not None else '?'})")
    ax.grid(True, axis="x", alpha=0.3)
    return _save(fig, fmt, salt)


def inline_svg(chart: bytes) -> str:
    """An SVG chart as markup to put inside a page (without its XML prolog and doctype)."""
    text = chart.decode("utf-8")
    return text[text.index("<svg"):]
