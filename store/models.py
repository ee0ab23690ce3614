"""The tables. One module so the whole schema reads in one sitting."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# Every datetime is an aware UTC datetime; SQLModel's UTC column type stores it the
# same way on SQLite and PostgreSQL and hands it back aware.


class Draw(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("source", "key", name="uq_draw_source_key"),
        Index("ix_draw_source_date", "source", "date"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    source: str = Field(index=True)
    key: str
    date: Optional[dt.date] = None
    round_time: Optional[dt.datetime] = None
    tiebreak_time: Optional[dt.datetime] = None
    title: str = ""
    program: Optional[str] = Field(default=None, index=True)
    category_version: Optional[str] = None
    invitations: Optional[int] = None
    score_min: Optional[int] = None
    score_max: Optional[int] = None
    score_system: Optional[str] = None
    selection_kind: Optional[str] = None
    programs_covered: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    window_start: Optional[dt.datetime] = None
    window_end: Optional[dt.datetime] = None
    region: Optional[str] = None
    noc_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    noc_version: Optional[str] = None
    announcement: Optional[str] = None
    url: Optional[str] = None
    text: str = ""
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    content_hash: str = ""
    first_seen: dt.datetime = Field(default_factory=utcnow)
    last_seen: dt.datetime = Field(default_factory=utcnow)
    updated: dt.datetime = Field(default_factory=utcnow)


class DrawNoc(SQLModel, table=True):
    """A NOC 2021 unit group a draw targets, however it was learnt.

    ``via`` is "published" (the code as the source printed it), "crosswalk" (a 2016
    code mapped to 2021) or "category" (an Express Entry category list for the
    draw's version). Kept as rows so ``--noc`` is an indexed join on both back ends.
    """

    __table_args__ = (UniqueConstraint("draw_id", "noc2021", name="uq_drawnoc"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="draw.id", index=True)
    noc2021: str = Field(index=True)
    via: str = "published"


class DrawRevision(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="draw.id", index=True)
    crawl_run_id: Optional[int] = Field(default=None, foreign_key="crawlrun.id")
    changed_at: dt.datetime = Field(default_factory=utcnow)
    # {field: [old, new]} with values in their JSON form
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Notice(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("source", "key", name="uq_notice_source_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    source: str = Field(index=True)
    key: str
    date: Optional[dt.date] = None
    title: str = ""
    text: str = ""
    url: Optional[str] = None
    content_hash: str = ""
    first_seen: dt.datetime = Field(default_factory=utcnow)
    updated: dt.datetime = Field(default_factory=utcnow)


class CrawlRun(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    source: str = Field(index=True)
    started_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: Optional[dt.datetime] = None
    outcome: str = "running"  # ok | not_modified | failed
    baseline: bool = False  # first successful crawl of the source: stored, not alerted
    n_parsed: int = 0
    n_new: int = 0
    n_changed: int = 0
    n_unchanged: int = 0
    error: Optional[str] = None


class PageState(SQLModel, table=True):
    """What the last successfully ingested response of one URL was.

    Written in the ingest transaction, so a 304 answer to its validators can only ever
    mean "what we already hold"; ``n_records`` lets a page that suddenly yields far fewer
    records be refused instead of believed.
    """

    url: str = Field(primary_key=True)
    source: str = Field(index=True)
    etag: Optional[str] = None
    last_modified: Optional[str] = None
    n_records: int = 0
    updated: dt.datetime = Field(default_factory=utcnow)
