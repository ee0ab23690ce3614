"""Profile-creation windows ("profiles created between ... and ...") of a post: one stated
inside a scored selection's list is that selection's; the others are the post's, and the
first of them goes to every selection still without one."""
from __future__ import annotations

from scraper.parse import dates as dt
from scraper.sources.oinp.parse.selection import Sel


def assign_windows(sels: list[Sel], windows: list[tuple[int, dt.Window]]) -> None:
    """``windows``: (list group it was stated in, window), in reading order."""
    entry_windows = []
    for group, w in windows:
        own = [x for x in sels if x.group == group and x.kind == "score"]
        if own:
            for x in own:
                x.window = x.window or w
        else:
            entry_windows.append(w)
    for x in sels:
        if x.window is None and entry_windows:
            x.window = entry_windows[0]
