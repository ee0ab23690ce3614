"""drawwatch's composition root: the ``drawwatch`` command and its subcommands.

Each package owns its commands (``store.cli``, ``scraper.cli``, ...); this module only
loads the config once, sets up logging, and turns library errors into exit codes.
Query commands never import Scrapy.
"""
from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
import traceback
from contextlib import contextmanager
from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING

import click

from notifier.secrets import MaskingFormatter, mask, remember

if TYPE_CHECKING:
    from configfile import Settings

# Start-up time is felt on every query: this module imports click and the masking of
# secrets only; the config, the database and each command's module load when used.
log = logging.getLogger("drawwatch")
# At exit Python's last garbage collections walk every object the ORM's import made, about
# a fifth of a query's CPU (bench/cli.py), to free memory the process is about to give
# back anyway; frozen objects are skipped. Engines are disposed before (App.close).
atexit.register(gc.freeze)

# name -> (module, command, its line in `drawwatch --help`). The line is written here so
# that listing the commands imports none of them; tests/test_startup.py checks each line
# against the command's own help, and that every module's COMMANDS is listed.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "crawl": ("scraper.cli", "crawl_cmd", "Run one crawl of each source now and print what was new and changed."),
    "deliver": ("notifier.cli", "deliver_cmd",
                "Send what is due in the outbox now (the service does this continuously)."),
    "draws": ("store.cli", "draws_cmd", "List draws, newest first."),
    "matches": ("notifier.cli", "matches_cmd",
                "Which past draws each profile would have matched, and why (to tune a profile)."),
    "noc": ("store.cli", "noc_cmd",
            "Find occupations by NOC code (2016 or 2021) or words (\"software engineer\")."),
    "notices": ("store.cli", "notices_cmd",
                "List program news that is not a draw (closures, pauses, allocations)."),
    "notify-test": ("notifier.cli", "notify_test_cmd",
                    "Send a test message to each channel of subscriber NAME and report each outcome."),
    "outbox": ("notifier.cli", "outbox_cmd",
               "Deliveries waiting, retrying or failed (errors shown with secrets masked)."),
    "serve": ("scraper.service_cli", "serve_cmd",
              "Run the service: crawl each source on its schedule, deliver alerts, watch source health."),
    "status": ("scraper.service_cli", "status_cmd",
               "Each source's last success and failure, next run and draws stored; the outbox by status."),
    "subscribers": ("notifier.cli", "subscribers_group",
                    "Manage subscribers (the config file's [[subscribers]] are listed too, read-only)."),
    "stats": ("web.cli", "stats_cmd", "Per source and category: rounds, invitations, cut-offs and their trend."),
    "chart": ("web.cli", "chart_cmd", "Write a chart of the draw history as SVG or PNG (by the file's extension)."),
    "web": ("web.cli", "web_cmd",
            "Serve the draw history as a local web page, a JSON API (/api, /docs) and Atom feeds."),
}

# Commands that send nothing: their config is loaded without Apprise checking its URLs.
QUERIES = frozenset({"draws", "notices", "noc", "status", "outbox", "matches", "stats"})

EXIT_FAILED = 1  # the database, or a bug
EXIT_CONFIG = 2


class App:
    """What a command needs, built on first use from the one loaded config."""

    def __init__(self, config_path: str | None, *, channels: bool = True):
        self.config_path = config_path
        self.channels = channels  # False: the command sends nothing (QUERIES)

    @cached_property
    def settings(self) -> Settings:
        from configfile import load_config

        return load_config(self.config_path, channels=self.channels)

    @cached_property
    def engine(self):
        """The engine of commands that write: creates the database and its schema if missing."""
        from notifier.subscribers import watch_subscribers
        from store.db import make_engine

        watch_subscribers()  # before the ORM loads any subscriber row (setup_logging)
        db = self.settings.database
        return make_engine(db.url, lock_timeout=db.lock_timeout)

    @cached_property
    def reader(self):
        """The engine of commands that only read: the database must exist; nothing is written."""
        from notifier.subscribers import watch_subscribers
        from store.db import make_engine

        watch_subscribers()
        db = self.settings.database
        return make_engine(db.url, read_only=True, lock_timeout=db.lock_timeout)

    @contextmanager
    def query(self):
        """A ``store.sql`` Reader for the listings (``store.reads``): on a SQLite file the
        sqlite3 module itself, with no SQLAlchemy imported (start-up: bench/cli.py);
        otherwise a read-only session."""
        from store.sql import SessionReader, sqlite_reader

        db = self.settings.database
        reader = sqlite_reader(db.url, db.lock_timeout)
        if reader is not None:
            with reader:
                yield reader
            return
        with self.read_session() as session:
            yield SessionReader(session)

    def session(self):
        from store.db import session as open_session

        return open_session(self.engine)

    def read_session(self):
        from store.db import session as open_session

        return open_session(self.reader)

    def close(self) -> None:
        """Let go of the database (its connections, and with them its files)."""
        for name in ("engine", "reader"):
            if name in self.__dict__:
                self.__dict__.pop(name).dispose()

    def synced_session(self):
        """A session after the config file's subscribers were brought into the database."""
        from notifier.subscribers import sync_config

        session = self.session()
        try:
            sync_config(session, self.settings)
        except BaseException:
            session.close()  # else its connection, and the database's files, stay open
            raise
        return session

    def matcher(self):
        """The notifier's in-transaction matcher, with the config's subscribers synced in."""
        from notifier.match import enqueue_matches

        self.synced_session().close()
        return enqueue_matches


def setup_logging(settings: Settings) -> None:
    # Every record of every logger, at every level, leaves through this one handler, and
    # its formatter masks the whole line (arguments and tracebacks included) with the
    # secrets of every notification URL known: the config's, and each subscriber the ORM
    # reads from the database (``watch_subscribers``, set up with the App's engines).
    remember(*settings.operator.urls, *(url for profile in settings.subscribers for url in profile.urls))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = settings.logging.level
    root.setLevel(level)
    # Scrapy and Twisted are chatty at INFO (matplotlib too: "generated new fontManager" on a
    # first chart); their warnings still show.
    for noisy in ("scrapy", "twisted", "apprise", "apscheduler", "matplotlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # An unreachable site makes Scrapy log a traceback for robots.txt and then fail the
    # page itself, which the failed crawl records and logs in one line: on a service
    # polling every few minutes the tracebacks would bury everything else.
    logging.getLogger("scrapy.downloadermiddlewares.robotstxt").setLevel(logging.CRITICAL)


def _database_url(ctx) -> str:
    try:
        return ctx.obj.settings.database.url
    except Exception:  # no config loaded: the error cannot be about its database anyway
        return "sqlite://"


class DrawwatchGroup(click.Group):
    """Turns library errors into one line and an exit status; nothing a user can cause
    ends in a traceback, and no error text leaves without its secrets masked. Commands
    are imported when one is run (``COMMANDS``)."""

    def list_commands(self, ctx):
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx, name):
        if name not in self.commands and name in COMMANDS:
            module, attr, _ = COMMANDS[name]
            self.add_command(getattr(import_module(module), attr), name)
        return self.commands.get(name)

    def format_commands(self, ctx, formatter):
        """The command list from ``COMMANDS`` (a command added otherwise, from its own help)."""
        names = [n for n in self.list_commands(ctx) if n in COMMANDS or not self.commands[n].hidden]
        if not names:
            return
        limit = formatter.width - 6 - max(map(len, names))
        rows = [(n, (self.commands.get(n) or click.Command(n, help=COMMANDS[n][2])).get_short_help_str(limit))
                for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        from store.config import ConfigError

        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except ConfigError as exc:
            click.echo(f"config error: {mask(str(exc))}", err=True)
            ctx.exit(EXIT_CONFIG)
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            from store.db import DatabaseError, explain

            if isinstance(exc, SQLAlchemyError):
                exc = explain(exc, _database_url(ctx))
            if isinstance(exc, BrokenPipeError):
                # The reader of our output left (``drawwatch draws | head``): not a bug.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            elif isinstance(exc, DatabaseError):
                click.echo(f"database error: {mask(str(exc))}", err=True)
            else:
                # A bug: its traceback is for the report, masked like every log line.
                click.echo("internal error (a bug in drawwatch: please report it with what follows)\n"
                           + mask(traceback.format_exc()).rstrip(), err=True)
            ctx.exit(EXIT_FAILED)


@click.group(cls=DrawwatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
# No envvar= here: load_config reads $DRAWWATCH_CONFIG itself (store.config.default_path).
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Config file (default: $DRAWWATCH_CONFIG, else ./config.toml, else built-in defaults).")
@click.version_option(package_name="drawwatch", prog_name="drawwatch", message="%(prog)s %(version)s")
@click.pass_context
def main(ctx, config_path):
    """Watch Canadian immigration draws and alert the subscribers they fit."""
    app = App(config_path, channels=ctx.invoked_subcommand not in QUERIES)
    ctx.obj = app
    ctx.call_on_close(app.close)
    # Validate the config before any command writes anything.
    setup_logging(app.settings)


if __name__ == "__main__":
    main()
