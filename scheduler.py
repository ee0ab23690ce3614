"""drawwatch's composition root: the ``drawwatch`` command and its subcommands.

Each package owns its commands (``store.cli``, ``scraper.cli``, ...); this module only
loads the config once, sets up logging, and turns library errors into exit codes.
Query commands never import Scrapy.
"""
from __future__ import annotations

import logging
import sys
from functools import cached_property

import click

from store.config import ENV_VAR, ConfigError, Settings, load_config

log = logging.getLogger("drawwatch")

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
        from store.db import make_engine

        return make_engine(self.settings.database.url)

    def session(self):
        from store.db import session

        return session(self.engine)

    def synced_session(self):
        """A session after the config file's subscribers were brought into the database."""
        from notifier.subscribers import sync_config

        session = self.session()
        sync_config(session, self.settings)
        return session

    def matcher(self):
        """The notifier's in-transaction matcher, with the config's subscribers synced in."""
        from notifier.match import enqueue_matches

        self.synced_session().close()
        return enqueue_matches


def setup_logging(level: str) -> None:
    from notifier.secrets import SecretMaskingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Scrapy and Twisted are chatty at INFO; their warnings still show.
    for noisy in ("scrapy", "twisted", "apprise", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # An unreachable site makes Scrapy log a traceback for robots.txt and then fail the
    # page itself, which the failed crawl records and logs in one line: on a service
    # polling every few minutes the tracebacks would bury everything else.
    logging.getLogger("scrapy.downloadermiddlewares.robotstxt").setLevel(logging.CRITICAL)


class DrawwatchGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"config error: {exc}", err=True)
            ctx.exit(EXIT_CONFIG)


@click.group(cls=DrawwatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar=ENV_VAR, type=click.Path(dir_okay=False),
              help=f"Config file (default: ${ENV_VAR}, else ./config.toml, else built-in defaults).")
@click.pass_context
def main(ctx, config_path):
    """Watch Canadian immigration draws and alert the subscribers they fit."""
    app = App(config_path)
    ctx.obj = app
    # Validate the config before any command writes anything.
    setup_logging(app.settings.logging.level)


def _register() -> None:
    from notifier.cli import COMMANDS as notifier_commands
    from scraper.cli import COMMANDS as scraper_commands
    from scraper.service_cli import COMMANDS as service_commands
    from store.cli import COMMANDS as store_commands

    for command in (*store_commands, *scraper_commands, *service_commands, *notifier_commands):
        main.add_command(command)


_register()

if __name__ == "__main__":
    main()
