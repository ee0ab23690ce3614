"""drawwatch's composition root: the ``drawwatch`` command and its subcommands.

Each package owns its commands (``store.cli``, ``scraper.cli``, ...); this module only
loads the config once, sets up logging, and turns library errors into exit codes.
Query commands never import Scrapy.
"""
from __future__ import annotations

import logging
import os
import sys
import traceback
from functools import cached_property

import click
from sqlalchemy.exc import SQLAlchemyError

from configfile import ENV_VAR, ConfigError, Settings, load_config
from notifier.cli import COMMANDS as notifier_commands
from notifier.match import enqueue_matches
from notifier.secrets import MaskingFormatter, mask, remember
from notifier.subscribers import sync_config, watch_subscribers
from scraper.cli import COMMANDS as scraper_commands
from scraper.service_cli import COMMANDS as service_commands
from store.cli import COMMANDS as store_commands
from store.db import DatabaseError, explain, make_engine, session as open_session

log = logging.getLogger("drawwatch")

EXIT_FAILED = 1  # the database, or a bug
EXIT_CONFIG = 2


class App:
    """What a command needs, built on first use from the one loaded config."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path

    @cached_property
    def settings(self) -> Settings:
        return load_config(self.config_path)

    @cached_property
    def engine(self):
        """The engine of commands that write: creates the database and its schema if missing."""
        db = self.settings.database
        return make_engine(db.url, lock_timeout=db.lock_timeout)

    @cached_property
    def reader(self):
        """The engine of commands that only read: the database must exist; nothing is written."""
        db = self.settings.database
        return make_engine(db.url, read_only=True, lock_timeout=db.lock_timeout)

    def session(self):
        return open_session(self.engine)

    def read_session(self):
        return open_session(self.reader)

    def close(self) -> None:
        """Let go of the database (its connections, and with them its files)."""
        for name in ("engine", "reader"):
            if name in self.__dict__:
                self.__dict__.pop(name).dispose()

    def synced_session(self):
        """A session after the config file's subscribers were brought into the database."""
        session = self.session()
        try:
            sync_config(session, self.settings)
        except BaseException:
            session.close()  # else its connection, and the database's files, stay open
            raise
        return session

    def matcher(self):
        """The notifier's in-transaction matcher, with the config's subscribers synced in."""
        self.synced_session().close()
        return enqueue_matches


def setup_logging(settings: Settings) -> None:
    # Every record of every logger, at every level, leaves through this one handler, and
    # its formatter masks the whole line (arguments and tracebacks included) with the
    # secrets of every notification URL known: the config's, and each subscriber read
    # from the database.
    remember(*settings.operator.urls, *(url for profile in settings.subscribers for url in profile.urls))
    watch_subscribers()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = settings.logging.level
    root.setLevel(level)
    # Scrapy and Twisted are chatty at INFO; their warnings still show.
    for noisy in ("scrapy", "twisted", "apprise", "apscheduler"):
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
    ends in a traceback, and no error text leaves without its secrets masked."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except ConfigError as exc:
            click.echo(f"config error: {mask(str(exc))}", err=True)
            ctx.exit(EXIT_CONFIG)
        except Exception as exc:
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
@click.option("--config", "config_path", envvar=ENV_VAR, type=click.Path(dir_okay=False),
              help=f"Config file (default: ${ENV_VAR}, else ./config.toml, else built-in defaults).")
@click.pass_context
def main(ctx, config_path):
    """Watch Canadian immigration draws and alert the subscribers they fit."""
    app = App(config_path)
    ctx.obj = app
    ctx.call_on_close(app.close)
    # Validate the config before any command writes anything.
    setup_logging(app.settings)


def _register() -> None:
    for command in (*store_commands, *scraper_commands, *service_commands, *notifier_commands):
        main.add_command(command)


_register()

if __name__ == "__main__":
    main()
