"""What a draw's facts are, and when two versions of a draw differ in them.

Facts are compared after normalisation: the same date or number typed another way, the
published wording (``text``, the verbatim strings in ``extra``) and the parser's flags
are no change. A value one version lacks and the other has is a gap, not a fact: the
store keeps the value (``keep_vanished``) instead of erasing it.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import fields
from datetime import date, datetime
from typing import Any

from scraper.records import DrawRecord
from store.models import Draw, as_utc

# The draw's facts: everything a parser sets except the natural key.
FACT_FIELDS = tuple(f.name for f in fields(DrawRecord) if f.name not in ("source", "key"))
# Kept with the draw but not facts of it: the published text the facts were read from and
# the parser's flags. A change in them alone is no revision.
UNCOMPARED_FIELDS = frozenset({"text", "flags"})
# ``extra`` keys holding what the page said verbatim ("11-01-2023", "score of 85 and above"),
# whose meaning is in the parsed facts, and the merge's provenance (which pages, which URLs).
VERBATIM_EXTRA = frozenset({"raw", "published_date", "date_text", "score_text", "window_text", "notes",
                            "page", "sources"})
# The ``extra`` key where a source's merge lists the pages a draw was read from.
PROVENANCE_KEY = "sources"
# Fields that may carry the natural key itself (a round's link holds its number): left out
# when asking whether a draw's facts moved to another key.
KEY_BEARING_FIELDS = frozenset({"url", "announcement"})


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def record_facts(record: DrawRecord) -> dict[str, Any]:
    """A record's facts as stored: datetimes in UTC (a naive one from a parser is taken as UTC)."""
    return {name: (as_utc(value) if isinstance(value, datetime) else value)
            for name, value in ((name, getattr(record, name)) for name in FACT_FIELDS)}


def stored_facts(draw: Draw) -> dict[str, Any]:
    return {name: getattr(draw, name) for name in FACT_FIELDS}


def content_hash(values: dict[str, Any]) -> str:
    """The stored values' digest, verbatim parts included: equal digests skip every other check."""
    canonical = json.dumps({k: jsonable(values[k]) for k in FACT_FIELDS}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def normalised(value: Any) -> Any:
    """A fact as compared: whitespace collapsed, lists of codes as sets, empty values
    dropped from dicts, datetimes in UTC."""
    value = jsonable(value)
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, list):
        items = [normalised(v) for v in value]
        return sorted(items) if all(isinstance(v, str) for v in items) else items
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items() if not empty(v)}
    return value


def _extra_facts(extra: dict | None) -> dict:
    return {k: v for k, v in (extra or {}).items() if k not in VERBATIM_EXTRA}


def fact_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the facts whose normalised values differ, values as stored
    (JSON form); ``extra`` is compared key by key ("extra.x"), its verbatim keys ignored."""
    changes: dict[str, list[Any]] = {}
    for name in FACT_FIELDS:
        if name in UNCOMPARED_FIELDS:
            continue
        old, new = before[name], after[name]
        if old == new:  # the common case, without normalising anything
            continue
        if name == "extra":
            old, new = _extra_facts(old), _extra_facts(new)
            for sub in sorted(old.keys() | new.keys()):
                if old.get(sub) != new.get(sub) and normalised(old.get(sub)) != normalised(new.get(sub)):
                    changes[f"extra.{sub}"] = [old.get(sub), new.get(sub)]
        elif normalised(old) != normalised(new):
            changes[name] = [jsonable(old), jsonable(new)]
    return changes


def _fill(stored: Any, new: Any, path: str, kept: list[str]) -> Any:
    """``new`` with every value it lacks and ``stored`` had put back (dicts key by key)."""
    if empty(new) and not empty(stored):
        kept.append(path)
        return copy.deepcopy(stored)
    if isinstance(stored, dict) and isinstance(new, dict):
        out = dict(new)
        for k, v in stored.items():
            if path == "extra" and k in VERBATIM_EXTRA:
                continue
            out[k] = _fill(v, new.get(k), f"{path}.{k}", kept)
            if out[k] is None and k not in new:
                del out[k]
        return out
    return new


def keep_vanished(stored: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``values`` with every fact the stored draw had and the crawl no longer gives kept
    as stored, each flagged "vanished_<field>", and the list of those fields."""
    paths: list[str] = []
    out = dict(values)
    for name in FACT_FIELDS:
        if name not in UNCOMPARED_FIELDS:
            out[name] = _fill(stored[name], values[name], name, paths)
    # Named down to an ``extra`` key: a blanked distribution is one gap, not fifteen buckets.
    kept = list(dict.fromkeys(".".join(path.split(".")[:2]) for path in paths))
    if kept:
        out["flags"] = sorted({*(values["flags"] or []), *(f"vanished_{path}" for path in kept)})
    return out, kept


def rewrites(before: dict[str, Any], after: dict[str, Any], changes: dict[str, list[Any]]) -> bool:
    """Whether ``changes`` rewrite what the draw stated (the kind that counts toward holding
    a crawl). Filling in what was not known (a ledger's count) completes a draw; so does a
    page read for the first time for it (a backfilled updates page giving an Ontario draw
    known from its ledger the page's title and link, as the source's merge ranks them)."""
    if all(empty(old) for old, _ in changes.values()):
        return False
    sources = [set((facts["extra"] or {}).get(PROVENANCE_KEY, [])) for facts in (before, after)]
    return not sources[1] - sources[0]


def signature(values: dict[str, Any]) -> str:
    """A draw's facts without anything that may spell its key: the same signature under
    another key means the draw was renumbered."""
    facts = {name: normalised(_extra_facts(values[name]) if name == "extra" else values[name])
             for name in FACT_FIELDS if name not in UNCOMPARED_FIELDS | KEY_BEARING_FIELDS}
    return json.dumps(facts, sort_keys=True, default=str)
