"""The options every command shares, each with one wording of its error.

One rule for the whole CLI: a value the user typed that cannot be used is a usage error
(exit 2: click's "Invalid value for '--x': ..." naming the valid choices or the expected
form); a command that ran and failed, or found nothing it was asked for by name, is a
runtime failure (exit 1: ``fail``). Nothing here queries the database or imports SQLModel:
``check_choice`` takes the valid values from the caller.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Iterable, NoReturn

import click

from scraper.sources import registry
from store.output import FORMATS

DATE_FORM = "YYYY-MM-DD"
# The largest number a limit or a score filter takes: one the databases can bind (a larger
# one is an OverflowError in SQLite's driver); every score and count is far below it.
LARGEST = 2**31 - 1


class DateParam(click.ParamType):
    """A calendar date written YYYY-MM-DD; every date option says the same when it is not one."""

    name = DATE_FORM

    def convert(self, value: Any, param, ctx) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a date: expected {DATE_FORM}, e.g. 2025-03-14", param, ctx)


class PositiveInt(click.ParamType):
    name = "N"

    def convert(self, value: Any, param, ctx) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        if number < 1:
            self.fail(f"{value!r}: must be 1 or more", param, ctx)
        if number > LARGEST:
            self.fail(f"{value!r}: must be at most {LARGEST}", param, ctx)
        return number


class SourceChoice(click.Choice):
    """The registered sources, read when a value is checked, so that a source added by a
    plugin (or a test) is a valid choice without any list to update."""

    def __init__(self) -> None:
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(registry.names())


DATE = DateParam()
POSITIVE = PositiveInt()
SOURCE = SourceChoice()
SCORE = click.IntRange(0, LARGEST)


def format_option(f):
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                        help="Output format; JSON keys are the model's field names, in the table's order.")(f)


def source_option(*decls: str, help: str = "Only this source.", **kwargs):
    """``--source`` (or the given declarations) refused unless a registered source's name."""
    return click.option(*(decls or ("--source",)), type=SOURCE, help=help, **kwargs)


def limit_option(default: int | None = None, help: str = "At most this many rows."):
    return click.option("--limit", type=POSITIVE, default=default, show_default=default is not None, help=help)


def since_option(help: str = f"On or after this date ({DATE_FORM}).", **kwargs):
    return click.option("--since", type=DATE, help=help, **kwargs)


def until_option(help: str = f"On or before this date ({DATE_FORM}).", **kwargs):
    return click.option("--until", type=DATE, help=help, **kwargs)


def check_period(since: date | None, until: date | None) -> None:
    """A usage error when ``--since`` comes after ``--until`` (the period would be empty)."""
    if since and until and since > until:
        raise click.BadParameter(f"{since} is after --until {until}", param_hint="'--since'")


def choice_error(value: str | None, choices: Iterable[str], what: str = "") -> str | None:
    """What is wrong with ``value`` when it is none of ``choices`` (naming them), else None:
    the one wording of the CLI's usage error and the web's 400. ``what`` says where the
    choices come from."""
    if value is None:
        return None
    valid = sorted(set(choices))
    if value in valid:
        return None
    listed = ", ".join(repr(c) for c in valid) if valid else "(none stored yet)"
    return f"{value!r} is not one of {listed}{' ' + what if what else ''}."


def check_choice(value: str | None, choices: Iterable[str], option: str, what: str = "") -> None:
    """A usage error naming ``choices`` when ``value`` is none of them (choices known only at
    run time, such as the categories stored)."""
    error = choice_error(value, choices, what)
    if error:
        raise click.BadParameter(error, param_hint=f"'{option}'")


def fail(message: str) -> NoReturn:
    """A runtime failure: "Error: <message>" on stderr, exit 1."""
    raise click.ClickException(message)


def usage(message: str) -> NoReturn:
    """A usage error not tied to one option's value: usage, "Error: <message>", exit 2."""
    raise click.UsageError(message)
