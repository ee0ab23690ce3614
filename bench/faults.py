"""Fault harness: the real ``drawwatch`` CLI killed, starved and fed broken sources, counted.

Runs, all on 127.0.0.1 and in a temporary folder, each CLI call a real child process of
this tree (``python -m scheduler``):
  crawl kill    a baseline crawl of IRCC's 2025-12-20 feed, then a crawl of the 2026-04-21
                feed (23 new rounds, alerts due to the subscribers) SIGKILLed at a random
                moment after the feed request arrives, spread over the measured time from
                that request to the commit of the ingest (x1.25). Then: PRAGMA integrity_check
                (SQLite), the store wholly before or wholly after the crawl (draws, revisions,
                occupations, notices, page validators, outbox rows -- anything between is a
                half-applied ingest), the crawl run again normally, and the outbox compared
                with an uninterrupted reference crawl: each due alert exactly once.
  deliver kill  the reference outbox delivered to a webhook that answers after 200 ms and
                keeps what it receives; ``deliver`` SIGKILLed at a random moment while
                sending; ``deliver`` run again at once (what is still not received is held
                back: at most the concurrency is allowed), then again after the claims'
                lease (run with ``[delivery] lease = 1``); lost = a due alert never received,
                duplicates = received twice, allowed up to the messages in flight
                (``[delivery] concurrency``). One-line templates (``[templates] directory``)
                name each message's draw so the sink can tell them apart; logging is at
                DEBUG, where secrets must stay masked too.
  source faults each served where the feed was (500, refused, hang past the timeout, cut
                connection, truncated body, empty 200, HTML 200, numbers where IRCC sends
                strings, every drawNumber + 1, all rounds removed; Ontario's real captcha page
                on an OINP crawl): the store must not change, no alert may be queued, no
                traceback, and the crawl must exit non-zero with the failure recorded or
                report it held. A feed with numbers for strings may also be read as the same
                values (exit 0, nothing changed).
  database      a database path that is a directory, that cannot be created, a read-only file,
                a read-only folder, a database another process holds a write transaction on,
                a file-size limit during a crawl (stands in for a full disk), an unreachable
                PostgreSQL, PostgreSQL without psycopg, and read commands on a missing
                database: ``crawl``, ``deliver`` and ``draws`` each; no traceback, no secret
                (a subscriber's Apprise password and path token, the PostgreSQL password),
                non-zero exit where the command cannot work, nothing created by a read.

Columns (violations, all must be 0; duplicates only up to the bound, per trial):
  integrity      trials after which PRAGMA integrity_check or foreign_key_check complains
  half-applied   trials leaving a store neither wholly before nor wholly after the crawl
  lost, dup      due alerts missing / present more than once (crawl: outbox rows after the
                 re-crawl; deliver: messages the sink received); (worst/bound) per trial
  false alerts   alerts queued or received that no uninterrupted run would have sent
  held back      deliver trials where more than the bound waited for the lease after a kill
  store changed  source faults that changed the store; reads that created a database
  wrong outcome  a fault not refused, recorded or held; a re-run that failed; a hang
  tracebacks, secrets   CLI runs that printed a traceback / a password or token
The harness exits 0 whatever it finds, and 2 only when it could not run (e.g. the
baseline crawl failed).

Run:  python bench/faults.py [--quick] [--crawl-kills 100] [--deliver-kills 20]
      [--source-trials 2] [--database sqlite|postgresql] [--only crawl,deliver,source,database]
      [--seed N] [--keep]
"""
from __future__ import annotations

import argparse
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fault_rig import (  # noqa: E402
    BLOCK_PSYCOPG, TRACEBACK, FILE_SIZE_LIMIT, Answer, CommitWatch, FeedSite, PostgresStores, SlowSink, SqliteStores, State,
    closed_port, command, finish, numbers_as_numbers, pending_rows, read_state, renumbered, run, sqlite_copy,
    start, without_dac_override, without_rounds)
from tests.configs import sources_off  # noqa: E402

DATA = ROOT / "tests" / "data"
OLD_FEED, NEW_FEED = "ee_rounds_123_en.2025-12-20.raw.json", "ee_rounds_123_en.2026-04-21.raw.json"
FEED = "/content/dam/ircc/documents/json/ee_rounds_123_en.json"
HTTP_TIMEOUT = 2  # seconds; the hanging source answers after HTTP_TIMEOUT + 3
SINK_LATENCY = 0.2
CONCURRENCY = 4
# Ontario's pages are kept as markdown conversions of the live pages; rendered back to
# HTML as the OINP tests do. The parser tells a yearly page from a ledger by its path.
OINP_YEAR = "/page/{year}-ontario-immigrant-nominee-program-updates"
OINP_YEARS = {0: "oinp_updates_2026.2026-06-19.md", 1: "oinp_updates_2025.2026-06-19.md"}  # years back
OINP_LEDGERS = {"/page/ontario-immigrant-nominee-program-oinp-invitations-apply": "oinp_invitations_apply.2026-06-19.md",
                "/page/oinp-express-entry-notifications-interest":
                    "oinp_express_entry_notifications_interest.2026-06-19.md"}
CAPTCHA = "CAPTCHA_BLOCKED_oinp_updates_2024.2026-06-19.md"

# A few subscribers with different profiles; every URL points at the slow sink, by path.
SUBSCRIBERS = {
    "everything": 'notify = ["all"]',
    "cec-520": 'crs = 520\nprograms = ["cec"]\nnotify = ["eligible"]',
    "software": 'nocs = ["21231"]\nnotify = ["targeted"]',
    "near-miss": 'crs = 480\nprograms = ["cec", "fsw"]\nclb = 9\nnotify = ["eligible", "near_miss"]\nnear_miss = 30',
}
# Each message names itself, so the sink can tell which alert it received.
TEMPLATE = "{{ kind }} {{ draw.source }} {{ draw.key }}"


class HarnessBroken(Exception):
    """The harness could not set up what it measures (not a finding about drawwatch)."""


@dataclass
class Tally:
    """One line of the table: counts of violations over a kind's trials."""

    kind: str
    bound: int | None = None  # duplicates allowed per trial (messages in flight); None: none allowed
    trials: int = 0
    integrity: int = 0
    half: int = 0
    lost: int = 0
    dup: int = 0
    dup_worst: int = 0
    dup_over: int = 0  # trials with more duplicates than the bound
    false_alerts: int = 0
    held_back: int = 0  # trials whose dead deliverer kept more than the bound waiting
    held_worst: int = 0
    changed: int = 0
    wrong: int = 0
    tracebacks: int = 0
    secrets: int = 0
    notes: list[str] = field(default_factory=list)

    def note(self, text: str, always: bool = False) -> None:
        """Keep ``text`` to print under the table: the first few of a kind, and every summary."""
        if text not in self.notes and (always or len(self.notes) < 4):
            self.notes.append(text)

    def runs(self, rig: "Rig", *runs) -> None:
        """Tracebacks and secrets in the output of these CLI runs."""
        for r in runs:
            if r is None:
                continue
            if r.traceback:
                self.tracebacks += 1
                self.note(f"traceback: {rig.masked(exception_line(r.text))[:150]}")
            leaked = r.leaks(rig.secrets)
            if leaked:
                self.secrets += 1
                line = next(ln for ln in r.text.splitlines() if any(s in ln for s in leaked))
                self.note(f"secret printed: {rig.masked(line.strip())[:150]}")

    def violations(self) -> int:
        return (self.integrity + self.half + self.lost + self.dup_over + self.false_alerts + self.held_back
                + self.changed + self.wrong + self.tracebacks + self.secrets)


def exception_line(text: str) -> str:
    """The exception a traceback ends in: the first unindented line after its last header."""
    lines = text[text.rindex(TRACEBACK):].splitlines()[1:]
    return next((ln for ln in lines if ln.strip() and not ln.startswith(" ")), "")


class Rig:
    """The servers, stores, configs and secrets shared by every trial of one run."""

    def __init__(self, folder: Path, database: str):
        self.folder = folder
        self.site = FeedSite()
        self.sink = SlowSink(SINK_LATENCY)
        (folder / "db").mkdir()
        self.stores = PostgresStores() if database == "postgresql" else SqliteStores(folder / "db")
        self.password, self.token, self.pg_password = (secrets.token_hex(8) for _ in range(3))
        self.secrets = [self.password, self.token, self.pg_password]
        self.templates = folder / "templates"
        self.templates.mkdir()
        for kind in ("alert", "correction"):
            for suffix in ("title", "txt", "md", "html"):
                (self.templates / f"{kind}.{suffix}").write_text(TEMPLATE + "\n")
        self.old = (DATA / OLD_FEED).read_bytes()
        self.new = (DATA / NEW_FEED).read_bytes()
        self.before: State | None = None  # after the baseline crawl of the old feed
        self.after: State | None = None  # after an uninterrupted crawl of the new feed

    def masked(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "<SECRET>")
        return text

    def hook(self, name: str) -> str:
        return f"json://drawwatch:{self.password}@127.0.0.1:{self.sink.port}/hook/{name}/{self.token}"

    def subscribers(self, names=SUBSCRIBERS) -> str:
        return "".join(f'[[subscribers]]\nname = "{n}"\nurls = ["{self.hook(n)}"]\n{SUBSCRIBERS.get(n, "")}\n'
                       for n in names)

    def config(self, name: str, db_url: str, *, feed_url: str | None = None, lease: int | None = None,
               level: str = "INFO", oinp: str | None = None, extra: str = "") -> Path:
        """Write config ``name``.toml: the EE source at ``feed_url`` (or OINP's tables), the subscribers."""
        feed_url = feed_url or self.site.url(FEED)
        # Every other source off: their default URLs are on the internet.
        sources = (f'[sources.express_entry]\nurl = "{feed_url}"\n{sources_off("express_entry")}' if oinp is None
                   else f"{sources_off('oinp')}{oinp}")
        text = (f'[database]\nurl = "{db_url}"\n[logging]\nlevel = "{level}"\n'
                f'[http]\ndelay = 0\nretries = 0\ntimeout = {HTTP_TIMEOUT}\n'
                f'[delivery]\nconcurrency = {CONCURRENCY}\nbackoff = 1\n' + (f"lease = {lease}\n" if lease else "")
                + f'[templates]\ndirectory = "{self.templates}"\n' + sources + self.subscribers() + extra)
        path = self.folder / f"{name}.toml"
        path.write_text(text)
        return path

    def crawl_argv(self, config: Path, source: str = "express_entry") -> list[str]:
        return command(config, "crawl", "--source", source)

    def close(self) -> None:
        self.site.stop()
        self.sink.stop()
        self.stores.close()


# -- setup: baseline and reference ---------------------------------------------------------


def baseline(rig: Rig) -> None:
    """The old feed crawled once (a silent baseline) into store "base"."""
    if rig.stores.kind == "postgresql":
        rig.stores.create("base")
    rig.site.put(FEED, Answer(rig.old))
    r = run(rig.crawl_argv(rig.config("base", rig.stores.url("base"))))
    if r.code != 0:
        raise HarnessBroken(f"the baseline crawl failed ({r.code}): {r.last_line()}")
    rig.before = read_state(rig.stores.url("base"))


def crawl_over_base(rig: Rig, config: Path, store: str) -> tuple[subprocess.Popen, int, float, float | None]:
    """Reset `store` to the baseline and start a crawl into it: (process, the site's mark,
    when it started, when it asked for the feed or None if it never did within 120 s)."""
    rig.stores.copy("base", store)
    mark = rig.site.mark()
    started = time.monotonic()
    proc = start(rig.crawl_argv(config))
    return proc, mark, started, rig.site.wait_request(FEED, mark, 120)


def reference(rig: Rig, n: int) -> tuple[float, float, float]:
    """Uninterrupted crawls of the new feed over the baseline: the state a crawl must reach,
    and the median seconds from the feed request to its last byte sent, to the commit and
    to the process exit.
    The last one's store is kept as "due" (the outbox the delivery trials drain)."""
    rig.site.put(FEED, Answer(rig.new))
    config = rig.config("ref", rig.stores.url("ref"))
    sent, commits, exits = [], [], []
    for _ in range(n):
        proc, mark, started, asked = crawl_over_base(rig, config, "ref")
        if asked is None:
            proc.kill()
            raise HarnessBroken(f"the reference crawl never asked for the feed: {finish(proc, started, 5).last_line()}")
        committed = CommitWatch(rig.stores.url("ref"), proc)
        proc.wait(120)
        committed = committed.stop()
        r = finish(proc, started, 120)
        exited = time.monotonic()
        if r.code != 0:
            raise HarnessBroken(f"the reference crawl failed ({r.code}): {r.last_line()}")
        after = read_state(rig.stores.url("ref"))
        if rig.after is not None and after.facts() != rig.after.facts():
            raise HarnessBroken(f"two uninterrupted crawls stored different things: {after.differs(rig.after)}")
        rig.after = after
        commits.append((committed or exited) - asked)
        exits.append(exited - asked)
        sent.append((rig.site.served_at(FEED, mark) or asked) - asked)
    if not rig.after.outbox:
        raise HarnessBroken("the reference crawl queued no alert: the lost/duplicate checks would be empty")
    rig.stores.copy("ref", "due")
    return statistics.median(sent), statistics.median(commits), statistics.median(exits)


# -- crawl kills ------------------------------------------------------------------------------


def crawl_kills(rig: Rig, n: int, commit: float, rng: random.Random) -> tuple[Tally, Counter, list[float]]:
    """SIGKILL of crawls of the new feed over the baseline, at a moment drawn from 0 to 1.25
    times the time from the feed request to the commit. That time is measured again in each
    trial (in the killed crawl when it committed first, else in the re-crawl), so the kills
    follow the machine's load: (tally, where they landed, windows used)."""
    tally = Tally("crawl SIGKILL", bound=None)
    landed: Counter = Counter()
    windows: list[float] = []
    commits = [commit]
    url = rig.stores.url("trial")
    config = rig.config("trial", url)
    due = rig.after.alerts()
    rig.site.put(FEED, Answer(rig.new))
    for _ in range(n):
        tally.trials += 1
        proc, mark, started, asked = crawl_over_base(rig, config, "trial")
        if asked is None:
            proc.kill()
            r = finish(proc, started, 10)
            tally.wrong += 1
            tally.note(f"crawl never asked for the feed: {r.last_line()}")
            tally.runs(rig, r)
            continue
        watch = CommitWatch(url, proc)
        window = 1.25 * statistics.median(commits[-5:])
        windows.append(window)
        kill_at = asked + rng.uniform(0, window)
        time.sleep(max(0.0, kill_at - time.monotonic()))
        exited_first = proc.poll() is not None
        if not exited_first:
            proc.kill()
        killed = finish(proc, started, 30)
        committed = watch.stop()
        if committed is not None:
            commits.append(committed - asked)
        problems = rig.stores.integrity("trial")
        if problems:
            tally.integrity += 1
            tally.note(f"integrity: {problems[0]}")
        state = read_state(url)
        served = rig.site.served_at(FEED, mark)
        where = classify(state, rig.before, rig.after)
        if where == "before":
            fetched = served is not None and served <= kill_at
            landed["after the feed's last byte, before the commit (parse, ingest)" if fetched
                   else "while the feed was being sent"] += 1
        elif where == "after":
            landed["after the process exited" if exited_first else "after the commit"] += 1
        else:
            landed["half-applied"] += 1
            tally.half += 1
            tally.note(f"half-applied: {where}")
        mark = rig.site.mark()
        started = time.monotonic()
        proc = start(rig.crawl_argv(config))
        watch = CommitWatch(url, proc)
        again = finish(proc, started, 120)
        committed, asked = watch.stop(), rig.site.wait_request(FEED, mark, 0)
        if where == "before" and committed is not None and asked is not None:
            commits.append(committed - asked)
        if again.code != 0:
            tally.wrong += 1
            tally.note(f"re-crawl exit {again.code}: {again.last_line()}")
        final = read_state(url)
        got = final.alerts()
        lost, dup, false = alert_counts(due, got)
        tally.lost += lost
        tally.dup += dup
        tally.dup_over += dup > 0
        tally.dup_worst = max(tally.dup_worst, dup)
        tally.false_alerts += false
        if final.facts() != rig.after.facts() and not (lost or dup or false):
            tally.wrong += 1
            tally.note(f"store after the re-crawl differs from the reference: {final.differs(rig.after)}")
        tally.runs(rig, killed, again)
    return tally, landed, windows


def classify(state: State, before: State, after: State) -> str:
    """"before", "after", or what is half-applied: the parts matching neither."""
    if state.facts() == before.facts():
        return "before"
    if state.facts() == after.facts():
        return "after"
    both = [p for p in state.differs(after) if p in state.differs(before)]
    return "neither before nor after in " + ", ".join(both or state.differs(after))


def alert_counts(due: Counter, got: Counter) -> tuple[int, int, int]:
    """(lost, duplicates, not due at all): ``got`` against the alerts ``due``, each once."""
    lost = sum((due - got).values())
    dup = sum(max(0, got[k] - due[k]) for k in due)
    false = sum(v for k, v in got.items() if k not in due)
    return lost, dup, false


# -- delivery kills ---------------------------------------------------------------------------


def _messages(received: list[tuple[str, str]]) -> Counter:
    """Received messages as (subscriber, kind, source, key), from the hook path and the title."""
    out: Counter = Counter()
    for path, title in received:
        parts = path.strip("/").split("/")
        kind, source, key = (title.split() + ["?", "?", "?"])[:3]
        out[(parts[1] if len(parts) > 1 else path, kind, source, key)] += 1
    return out


def _due_messages(state: State) -> Counter:
    return Counter((name, ref.split(":", 1)[0], source, key) for name, source, key, ref in state.outbox)


def deliver_kills(rig: Rig, n: int, rng: random.Random) -> Tally:
    tally = Tally("deliver SIGKILL", bound=CONCURRENCY)
    url = rig.stores.url("dtrial")
    # DEBUG: secrets must stay masked at every level (urllib3 logs each request's path there).
    config = rig.config("deliver", url, level="DEBUG")
    later = rig.config("deliver-lease1", url, level="DEBUG", lease=1)
    due = _due_messages(rig.after)

    # Calibration: one uninterrupted delivery of the whole outbox.
    rig.stores.copy("due", "dtrial")
    mark = rig.sink.mark()
    full = run(command(config, "deliver"))
    got = _messages(rig.sink.since(mark))
    if full.code != 0 or got != due:
        raise HarnessBroken(f"an uninterrupted delivery did not send each due alert once (exit {full.code}, "
                            f"{sum(got.values())} received of {sum(due.values())}): {full.last_line()}")
    window = len(due) / CONCURRENCY * SINK_LATENCY  # the time it spends sending
    tally.note(f"{sum(due.values())} alerts due; in-flight bound = [delivery] concurrency = {CONCURRENCY}; kills "
               f"spread over {window:.1f} s after the first POST; sink answers after {SINK_LATENCY * 1000:.0f} ms; "
               "logging at DEBUG")

    for _ in range(n):
        tally.trials += 1
        rig.stores.copy("due", "dtrial")
        mark = rig.sink.mark()
        started = time.monotonic()
        proc = start(command(config, "deliver"))
        first = rig.sink.wait_post(mark, 120)
        if first is None:
            proc.kill()
            r = finish(proc, started, 10)
            tally.wrong += 1
            tally.note(f"deliver sent nothing: {r.last_line()}")
            tally.runs(rig, r)
            continue
        time.sleep(rng.uniform(0, window))
        proc.kill()
        killed = finish(proc, started, 30)
        at_once = run(command(config, "deliver"))
        held = sum((due - _messages(rig.sink.since(mark))).values())
        tally.held_worst = max(tally.held_worst, held)
        tally.held_back += held > CONCURRENCY
        time.sleep(1.5)  # past a one-second lease
        final = run(command(later, "deliver"))
        lost, dup, false = alert_counts(due, _messages(rig.sink.since(mark)))
        tally.lost += lost
        tally.dup += dup
        tally.dup_worst = max(tally.dup_worst, dup)
        tally.dup_over += dup > CONCURRENCY
        tally.false_alerts += false
        for r, label in ((at_once, "deliver after the kill"), (final, "deliver after the lease")):
            if r.code != 0:
                tally.wrong += 1
                tally.note(f"{label}: exit {r.code}: {r.last_line()}")
        if lost and pending_rows(url):
            tally.note(f"{pending_rows(url)} outbox rows still owed after the lease")
        tally.runs(rig, killed, at_once, final)
    tally.note(f"alerts still owed after a deliver run right after the kill (they wait for the lease): "
               f"worst {tally.held_worst}, bound {CONCURRENCY}", always=True)
    return tally


# -- source faults ----------------------------------------------------------------------------


def _oinp_base(rig: Rig) -> Path:
    """Ontario's pages served and crawled once (the baseline) into store "obase"; its config."""
    from tests.md_render import render

    year = time.localtime().tm_year
    for back, name in OINP_YEARS.items():
        rig.site.put(OINP_YEAR.format(year=year - back), Answer(render(DATA / name)[0], content_type="text/html"))
    for path, name in OINP_LEDGERS.items():
        rig.site.put(path, Answer(render(DATA / name)[0], content_type="text/html"))
    ledgers = ", ".join(f'"{rig.site.url(p)}"' for p in OINP_LEDGERS)
    tables = (f'[sources.oinp]\nurl = "{rig.site.url(OINP_YEAR)}"\npast_years = {max(OINP_YEARS)}\n'
              f'urls = [{ledgers}]\n')
    if rig.stores.kind == "postgresql":
        rig.stores.create("obase")
    config = rig.config("obase", rig.stores.url("obase"), oinp=tables)
    r = run(rig.crawl_argv(config, "oinp"))
    if r.code != 0:
        raise HarnessBroken(f"the OINP baseline crawl failed ({r.code}): {r.last_line()}")
    return config


def source_faults(rig: Rig, trials: int) -> list[Tally]:
    hang = HTTP_TIMEOUT + 3
    html = b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>We'll be back soon</h1></body></html>"
    faults = {
        "HTTP 500": Answer(b"<html><body>Internal Server Error</body></html>", 500, "text/html"),
        "connection refused": None,
        f"hang ({hang} s, timeout {HTTP_TIMEOUT} s)": Answer(rig.old, delay=hang),
        "connection cut mid-body": Answer(rig.old, cut=len(rig.old) // 2),
        "truncated body": Answer(rig.old[:len(rig.old) // 2]),
        "empty 200": Answer(b""),
        "HTML 200": Answer(html, content_type="text/html"),
        'wrong types ("drawCRS": 419)': Answer(numbers_as_numbers(rig.old)),
        "renumbered (drawNumber + 1)": Answer(renumbered(rig.old)),
        "all rounds removed": Answer(without_rounds(rig.old)),
    }
    tallies = []
    url = rig.stores.url("src")
    for label, answer in faults.items():
        tally = Tally(f"source: {label}")
        feed_url = f"http://127.0.0.1:{closed_port()}{FEED}" if answer is None else None
        config = rig.config("src", url, feed_url=feed_url)
        for _ in range(trials):
            rig.stores.copy("base", "src")
            rig.site.put(FEED, answer or Answer(rig.old))
            r = run(rig.crawl_argv(config))
            judge_source_fault(rig, tally, r, rig.before, read_state(url), lenient=label.startswith("wrong types"))
        tallies.append(tally)
        rig.site.put(FEED, Answer(rig.old))
    return tallies


def captcha_fault(rig: Rig, trials: int) -> list[Tally]:
    """Ontario's real captcha page in place of last year's updates page, after a baseline."""
    from tests.md_render import render

    tally = Tally("source: captcha page (OINP)")
    config = _oinp_base(rig)
    before = read_state(rig.stores.url("obase"))
    year_page = OINP_YEAR.format(year=time.localtime().tm_year - 1)
    kept = rig.site.answers[year_page]
    oinp_url = rig.stores.url("osrc")
    text = config.read_text().replace(rig.stores.url("obase"), oinp_url)
    config = rig.folder / "osrc.toml"
    config.write_text(text)
    for _ in range(trials):
        rig.stores.copy("obase", "osrc")
        rig.site.put(year_page, Answer(render(DATA / CAPTCHA)[0], content_type="text/html"))
        r = run(rig.crawl_argv(config, "oinp"))
        judge_source_fault(rig, tally, r, before, read_state(oinp_url))
    rig.site.put(year_page, kept)
    return [tally]


def judge_source_fault(rig: Rig, tally: Tally, r, before: State, after: State, lenient: bool = False) -> None:
    """A faulty source must change nothing, queue no alert and be refused (exit non-zero,
    a failed crawl recorded) or held. ``lenient``: reading the same values is fine too
    (exit 0, only the page's validators updated)."""
    tally.trials += 1
    tally.runs(rig, r)
    added = sum((after.alerts() - before.alerts()).values())
    tally.false_alerts += added
    parts = after.differs(before)
    recorded = [outcome for _, _, outcome in after.new_runs(before) if outcome not in ("ok", "not_modified")]
    held = "held" in r.text.lower()
    refused = r.code not in (0, None) and bool(recorded)
    read_same = lenient and r.code == 0 and set(parts) <= {"pages"}
    if parts and not read_same:
        tally.changed += 1
        tally.note(f"store changed: {', '.join(parts)}" + (f"; {added} alerts queued" if added else ""))
    if not (refused or held or read_same):
        tally.wrong += 1
        if r.code == 0:
            tally.note(f"exit 0, not held: {r.out.strip().splitlines()[0][:120] if r.out.strip() else ''}")
        elif r.timed_out:
            tally.note("did not finish within the harness's limit")
        else:
            tally.note(f"exit {r.code} without a failed crawl recorded (status would say ok)")
    elif not tally.notes:
        tally.note(f"says: {rig.masked(r.last_line() if r.code else r.out.strip().splitlines()[0])}")


# -- database faults --------------------------------------------------------------------------


@dataclass
class DbFault:
    label: str
    url: str
    must_fail: tuple[str, ...] = ("crawl", "deliver", "draws")  # commands that cannot succeed
    commands: tuple[str, ...] = ("crawl", "deliver", "draws")
    prelude: str = ""
    prefix: list[str] = field(default_factory=list)
    must_not_create: Path | None = None


def _newcomer(rig: Rig) -> str:
    """A subscriber the stored database does not know yet: syncing it is a write whose
    parameters hold its Apprise URL, password included."""
    return f'[[subscribers]]\nname = "newcomer"\nurls = ["{rig.hook("newcomer")}"]\nnotify = ["all"]\n'


def database_faults(rig: Rig) -> list[Tally]:
    base = rig.folder / "dbf"
    base.mkdir()
    base_db = rig.folder / "db" / "base.db"
    if not base_db.exists():  # PostgreSQL run: the file faults still need an SQLite store
        raise HarnessBroken("database faults need the SQLite baseline (run them with --database sqlite)")

    def folder(name: str) -> Path:
        path = base / name
        path.mkdir()
        return path

    d = folder("directory")
    (d / "dw.db").mkdir()
    f = folder("uncreatable")
    (f / "not-a-folder").write_text("a file where a folder would have to be\n")
    ro_file = folder("readonly-file")
    sqlite_copy(base_db, ro_file / "dw.db")
    ro_dir = folder("readonly-folder")
    sqlite_copy(base_db, ro_dir / "dw.db")
    locked = folder("locked")
    sqlite_copy(base_db, locked / "dw.db")
    full = folder("disk-full")
    sqlite_copy(base_db, full / "dw.db")
    missing = folder("missing")
    pg = f"postgresql+psycopg://drawwatch:{rig.pg_password}@127.0.0.1:{closed_port()}/drawwatch"
    nodac = without_dac_override()
    limit = 64 * 1024
    faults = [
        DbFault("path is a directory", f"sqlite:///{d / 'dw.db'}"),
        DbFault("cannot be created (parent is a file)", f"sqlite:///{f / 'not-a-folder' / 'dw.db'}"),
        DbFault("read-only file", f"sqlite:///{ro_file / 'dw.db'}", must_fail=("crawl",), prefix=nodac),
        DbFault("read-only folder", f"sqlite:///{ro_dir / 'dw.db'}", must_fail=("crawl",), prefix=nodac),
        DbFault("locked (another process writing)", f"sqlite:///{locked / 'dw.db'}", must_fail=("crawl",)),
        DbFault(f"disk full (file-size limit {limit // 1024} KiB)", f"sqlite:///{full / 'dw.db'}",
                must_fail=("crawl",), commands=("crawl",), prelude=FILE_SIZE_LIMIT.format(limit=limit)),
        DbFault("PostgreSQL unreachable", pg),
        DbFault("PostgreSQL, psycopg not installed", pg, prelude=BLOCK_PSYCOPG),
        DbFault("missing database, read commands", f"sqlite:///{missing / 'sub' / 'dw.db'}",
                must_fail=("draws", "status"), commands=("draws", "status"), must_not_create=missing / "sub"),
    ]
    (ro_file / "dw.db").chmod(0o444)
    ro_dir.chmod(0o555)
    tallies = []
    try:
        for fault in faults:
            tallies.append(database_fault(rig, fault, locked_db=locked / "dw.db" if "locked" in fault.label else None))
    finally:
        ro_dir.chmod(0o755)
        (ro_file / "dw.db").chmod(0o644)
    return tallies


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def database_fault(rig: Rig, fault: DbFault, locked_db: Path | None = None) -> Tally:
    tally = Tally(f"database: {fault.label}")
    name = "dbf-" + "".join(c if c.isalnum() else "-" for c in fault.label)[:40]
    new_feed = "disk full" in fault.label
    rig.site.put(FEED, Answer(rig.new if new_feed else rig.old))
    config = rig.config(name, fault.url, extra="" if new_feed else _newcomer(rig))
    locker = None
    if locked_db is not None:
        locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(locked_db)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        if locker.stdout.readline().strip() != "locked":
            raise HarnessBroken("could not take the write lock on the locked database")
    try:
        for cmd in fault.commands:
            tally.trials += 1
            args = ("crawl", "--source", "express_entry") if cmd == "crawl" else (cmd,)
            r = run(command(config, *args, prelude=fault.prelude, prefix=fault.prefix), timeout=120)
            tally.runs(rig, r)
            if r.timed_out:
                tally.wrong += 1
                tally.note(f"{cmd}: still running after 120 s")
            elif cmd in fault.must_fail and r.code == 0:
                tally.wrong += 1
                tally.note(f"{cmd}: exit 0")
            if fault.must_not_create is not None and fault.must_not_create.exists():
                tally.changed += 1
                tally.note(f"{cmd} created {fault.must_not_create.name}/")
                shutil.rmtree(fault.must_not_create, ignore_errors=True)
            if new_feed and cmd == "crawl":
                db = Path(fault.url.removeprefix("sqlite:///"))
                problems = SqliteStores(db.parent).integrity(db.stem)
                if problems:
                    tally.integrity += 1
                    tally.note(f"integrity: {problems[0]}")
                where = classify(read_state(fault.url), rig.before, rig.after)
                if where not in ("before", "after"):
                    tally.half += 1
                    tally.note(f"half-applied: {where}")
            if not r.traceback:
                tally.note(f"{cmd}: exit {r.code}: {rig.masked(r.last_line())}")
    finally:
        if locker is not None:
            locker.stdin.close()
            locker.wait(30)
    return tally


# -- the table -----------------------------------------------------------------------------------


COLUMNS = ("trials", "integrity", "half-applied", "lost", "dup (worst/bound)", "false alerts", "held back",
           "store changed", "wrong outcome", "tracebacks", "secrets")


def table(tallies: list[Tally]) -> str:
    rows = []
    for t in tallies:
        bound = "-" if t.bound is None else str(t.bound)
        rows.append((t.kind, str(t.trials), str(t.integrity), str(t.half), str(t.lost),
                     f"{t.dup} ({t.dup_worst}/{bound})", str(t.false_alerts), str(t.held_back), str(t.changed),
                     str(t.wrong), str(t.tracebacks), str(t.secrets)))
    head = ("kind", *COLUMNS)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([line(head), "  ".join("-" * w for w in widths), *map(line, rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few trials of each kind (about 4 minutes)")
    parser.add_argument("--crawl-kills", type=int, default=None, help="crawl SIGKILL trials (default 100; quick 5)")
    parser.add_argument("--deliver-kills", type=int, default=None, help="deliver SIGKILL trials (default 20; quick 3)")
    parser.add_argument("--source-trials", type=int, default=None, help="trials of each source fault (default 2; quick 1)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="store of the kill trials and source faults (PostgreSQL: a throw-away local server)")
    parser.add_argument("--only", default="crawl,deliver,source,database", help="comma-separated kinds to run")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    crawl_n = args.crawl_kills if args.crawl_kills is not None else (5 if args.quick else 100)
    deliver_n = args.deliver_kills if args.deliver_kills is not None else (3 if args.quick else 20)
    source_n = args.source_trials if args.source_trials is not None else (1 if args.quick else 2)
    only = {k.strip() for k in args.only.split(",")}
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)

    began = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="drawwatch-faults-"))
    rig = None
    tallies: list[Tally] = []
    broken: list[str] = []
    try:
        rig = Rig(folder, args.database)
        print(f"drawwatch fault harness: store {args.database}, seed {seed}, temp {folder}", flush=True)
        baseline(rig)
        sent, commit, exit_ = reference(rig, 1 if args.quick else 3)
        print(f"reference crawl {OLD_FEED} -> {NEW_FEED}: {len(rig.after.draws) - len(rig.before.draws)} new draws, "
              f"{len(rig.after.outbox)} alerts due to {len(SUBSCRIBERS)} subscribers; from the feed request: "
              f"last byte sent {sent:.2f} s, commit {commit:.2f} s, exit {exit_:.2f} s (median)", flush=True)
        def part(name: str, wanted: bool, body) -> None:
            if not wanted:
                return
            t0 = time.monotonic()
            try:
                found = body()
            except HarnessBroken as exc:
                broken.append(f"{name}: not run: {exc}")
                print(f"  {name}: NOT RUN: {exc}", flush=True)
                return
            tallies.extend(found)
            print(f"  {name}: {sum(t.trials for t in found)} trials in {time.monotonic() - t0:.0f} s", flush=True)

        def kills():
            tally, landed, windows = crawl_kills(rig, crawl_n, commit, rng)
            tally.note("kills landed: " + ", ".join(f"{v} {k}" for k, v in landed.most_common()), always=True)
            if windows:
                tally.note(f"kill delays drawn from 0 to {min(windows):.2f}-{max(windows):.2f} s after the feed "
                           "request (1.25 x the commit time of the last 5 crawls)", always=True)
            return [tally]

        part("crawl kills", "crawl" in only and crawl_n > 0, kills)
        part("deliver kills", "deliver" in only and deliver_n > 0, lambda: [deliver_kills(rig, deliver_n, rng)])
        part("source faults", "source" in only and source_n > 0, lambda: source_faults(rig, source_n))
        part("captcha", "source" in only and source_n > 0, lambda: captcha_fault(rig, source_n))
        if "database" in only and args.database != "sqlite":
            print("  database faults: skipped (they run with --database sqlite)")
        part("database faults", "database" in only and args.database == "sqlite", lambda: database_faults(rig))
    except HarnessBroken as exc:
        print(f"harness broken: {exc}", file=sys.stderr)
        return 2
    finally:
        if rig is not None:
            rig.close()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    print(table(tallies))
    print()
    for t in tallies:
        for n in t.notes:
            print(f"{t.kind}: {n}")
    bad = sum(t.violations() for t in tallies)
    print(f"\n{bad} violations in {sum(t.trials for t in tallies)} trials; "
          f"{time.monotonic() - began:.0f} s (seed {seed})")
    if any(t.kind.startswith("database:") for t in tallies):
        print("psycopg not installed is simulated: the CLI runs in `python -c` with a meta path finder that makes "
              "`import psycopg` raise ModuleNotFoundError (the installed package is not touched).")
        if without_dac_override():
            print("read-only cases run as root without CAP_DAC_OVERRIDE (setpriv), so file permissions apply.")
    for line in broken:
        print(line, file=sys.stderr)
    return 2 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
