"""The tables. One module so the whole schema reads in one sitting."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.times import as_utc, utcnow  # noqa: F401  (the models' defaults; imported from here too)

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
    outcome: str = "running"  # ok | not_modified | failed | held (see HeldCrawl)
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


class PageKeys(SQLModel, table=True):
    """The draw keys one URL yielded at its last ingested crawl: a draw a page stops
    yielding is noticed per page, whichever of a source's pages a crawl fetched."""

    url: str = Field(primary_key=True)
    source: str = Field(index=True)
    keys: list[str] = Field(default_factory=list, sa_column=Column(JSON))


class HeldCrawl(SQLModel, table=True):
    """A crawl that would have rewritten or lost stored draws, kept aside until a person
    accepts it (``store.ingest.accept_held``); at most one per source, the latest.

    ``payload`` is the crawl as parsed (records and page fetches, in JSON), so accepting
    applies exactly what was held, not whatever the source serves by then.
    """

    source: str = Field(primary_key=True)
    run_id: int = Field(foreign_key="crawlrun.id")
    held_at: dt.datetime = Field(default_factory=utcnow)
    n_new: int = 0
    n_changed: int = 0
    n_lost: int = 0
    summary: str = ""
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Subscriber(SQLModel, table=True):
    """One person's alert profile. ``profile`` is the validated ``notifier.profile.Profile``
    in its JSON form (Apprise URLs included: the database is as private as the config)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    origin: str = "cli"  # "config": declared in the config file, which stays authoritative
    active: bool = True  # a config subscriber removed from the file is kept, inactive
    profile: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created: dt.datetime = Field(default_factory=utcnow)
    updated: dt.datetime = Field(default_factory=utcnow)


class ProfileIndex(SQLModel, table=True):
    """A subscriber's profile in columns the matcher's query selects candidates on
    (``notifier.profile_index`` keeps it current, and rebuilds what is missing or stale
    from ``Subscriber``). Lists are stored ",a,b," ("" for none: every source/province)."""

    subscriber_id: int = Field(primary_key=True)
    stamp: dt.datetime  # the subscriber's ``updated`` this row was built from
    active: bool = True
    sources: str = ""
    provinces: str = ""
    programs: str = ""
    crs: Optional[int] = Field(default=None, index=True)
    nclc: Optional[int] = None
    clb: Optional[int] = None
    ee_created: Optional[dt.date] = None
    eoi_created: Optional[dt.date] = None
    wants_all: bool = Field(default=False, index=True)
    wants_targeted: bool = False
    wants_eligible: bool = False  # eligible draws or near misses
    margin: int = 0  # points under a cut-off still worth telling (near misses), else 0
    match: str = ""  # notifier.profile.MatchProfile in JSON: what the full check reads


class ProfileNoc(SQLModel, table=True):
    """A NOC 2021 unit group of a subscriber's profile (a 2016 code: each code it became)."""

    noc2021: str = Field(primary_key=True)
    subscriber_id: int = Field(primary_key=True, index=True)


class ProfilePoints(SQLModel, table=True):
    """A subscriber's points in one province's own scoring system."""

    __table_args__ = (Index("ix_profilepoints_score", "province", "points"),)

    subscriber_id: int = Field(primary_key=True)
    province: str = Field(primary_key=True)
    points: int


class Notification(SQLModel, table=True):
    """The outbox: one row per message owed to a subscriber about a draw.

    Written in the ingest transaction that stores the draw, so an alert exists exactly
    when its draw does. ``ref`` is "alert" for the first message, and
    "correction:<content hash>" for a correction of that version of the draw: the unique
    key makes a second row for the same message impossible.
    """

    __table_args__ = (
        UniqueConstraint("subscriber_id", "draw_id", "ref", name="uq_notification"),
        Index("ix_notification_due", "status", "next_attempt_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    # No foreign keys here, on purpose: a new draw writes tens of thousands of rows in its
    # ingest transaction, and PostgreSQL checks (and row-locks) both references row by row,
    # half of that ingest's time (bench/fanout.py, docs/scaling.md). The rows are written
    # only for the draw stored in the same transaction (draws are never deleted) and for
    # the subscribers its query selected; a subscriber removed meanwhile leaves a row the
    # deliverer withdraws ("the subscriber was removed"). store.db drops the old keys.
    # Not indexed alone: uq_notification's index leads with it, and a second index was one
    # more write per alert. store.db drops the old one.
    subscriber_id: int
    draw_id: int = Field(index=True)
    kind: str = "alert"  # alert | correction
    ref: str = "alert"
    # pending -> sending (claimed by a deliverer) -> sent | pending (retry) | failed;
    # "withdrawn": a correction made an alert that was not yet sent no longer apply.
    status: str = "pending"
    digest: bool = False  # held for the subscriber's daily digest
    interests: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    unmet: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))  # what the match rested on
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))  # corrections: {fact: [old, new]}
    delivered: list[int] = Field(default_factory=list, sa_column=Column(JSON))  # indexes of the URLs already reached
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    claimed_at: Optional[dt.datetime] = None
    claim: Optional[str] = None
    last_error: Optional[str] = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: Optional[dt.datetime] = None


class SourceAlert(SQLModel, table=True):
    """What the operator has been told about one source."""

    source: str = Field(primary_key=True)
    failing_since: Optional[dt.datetime] = None  # start of the streak the last failure alert was about
    failing_alerted_at: Optional[dt.datetime] = None
    recovered_at: Optional[dt.datetime] = None  # when the recovery message was sent
    stale_alerted_at: Optional[dt.datetime] = None


class HeldAlert(SQLModel, table=True):
    """When the operator was last told that one source's crawl is held (one message per
    held episode). A table of its own: existing tables get no new columns."""

    source: str = Field(primary_key=True)
    held_since: Optional[dt.datetime] = None  # start of the episode the message was about
    told_at: Optional[dt.datetime] = None


class Lease(SQLModel, table=True):
    """Which process does a job that must run in one process at a time (a source's crawls,
    the operator's health checks): held while renewed before ``expires_at`` (store/leases.py)."""

    name: str = Field(primary_key=True)  # "crawl:<source>" or "health"
    holder: str  # "<host>:<pid>:<token>", unique per process
    machine: str  # where ``pid`` names a process (boot and pid namespace)
    pid: int
    acquired_at: dt.datetime
    expires_at: dt.datetime
