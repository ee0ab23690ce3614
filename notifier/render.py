"""Messages from templates: a title and a body in plain text, markdown or HTML.

Apprise tells us which format each channel takes (email: HTML, Slack: markdown, a JSON
webhook: text), and that variant is rendered for it. Everything scraped is escaped in
HTML bodies (Jinja autoescape). Files in ``[templates] directory`` replace the shipped
ones of the same name; every template runs in Jinja's sandbox, so an override can shape
a message but never reach Python objects (``cycler.__init__.__globals__.os`` ...).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
import jinja2.nodes
import jinja2.sandbox

from notifier.match import headline
from scraper.sources import registry
from scraper.sources.base import check_http_url
from store.models import Draw

SHIPPED = Path(__file__).parent / "templates"
KINDS = ("alert", "correction", "digest", "test")
SUFFIX = {"text": "txt", "markdown": "md", "html": "html"}
FACT_LABELS = {
    "date": "date", "program": "program or stream", "category_version": "category version",
    "score_min": "minimum score", "score_max": "maximum score", "tiebreak_time": "tie-break",
    "window_start": "profile window start", "window_end": "profile window end",
    "noc_codes": "targeted NOC codes", "programs_covered": "programs covered",
}


class TemplateError(Exception):
    """A message template that cannot be rendered; the message names its file."""


@lru_cache(maxsize=8)
def environment(directory: Path | None = None) -> jinja2.Environment:
    folders = ([str(directory)] if directory else []) + [str(SHIPPED)]
    # Immutable too: a template has no business changing the lists it is given.
    return jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
        # Templates are read once per process: a stat() of each file per message was a
        # third of the cost of sending one.
        auto_reload=False,
        undefined=jinja2.StrictUndefined)


def check_templates(folder: Path) -> str | None:
    """None if every template in ``folder`` compiles; else what is wrong and where."""
    if not folder.is_dir():
        return f"{folder} is not a folder"
    env = environment(folder)
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        stem, _, suffix = path.name.partition(".")
        if stem.lstrip("_") not in (*KINDS, "draw") or suffix not in ("title", *SUFFIX.values()):
            return f"{path.name}: not a template drawwatch uses (names: <{'|'.join(KINDS)}>.<title|txt|md|html>)"
        try:
            env.get_template(path.name)
            internal = _reaches_internals(env.parse(path.read_text(encoding="utf-8")))
        except jinja2.TemplateSyntaxError as exc:
            return f"{path.name} line {exc.lineno}: {exc.message}"
        except (OSError, UnicodeDecodeError) as exc:
            return f"{path.name}: cannot read: {exc}"
        if internal:
            line, name = internal
            return f"{path.name} line {line}: {name!r} reaches into Python internals, which templates may not"
    return None


def _reaches_internals(tree: jinja2.nodes.Template) -> tuple[int, str] | None:
    """The first ``x._private`` or ``'__dunder__'`` in a template: said at config load,
    rather than refused by the sandbox at the first message."""
    for node in tree.find_all((jinja2.nodes.Getattr, jinja2.nodes.Const)):
        name = node.attr if isinstance(node, jinja2.nodes.Getattr) else node.value
        if isinstance(name, str) and (name.startswith("__") or isinstance(node, jinja2.nodes.Getattr)
                                      and name.startswith("_")):
            return node.lineno, name
    return None


def _moment(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def link_url(url: str | None) -> str:
    """``url`` when it may be a link (http or https, with a host), else "": a scraped
    ``javascript:`` or ``data:`` address must never become something to click, in an
    alert, a feed or the web page."""
    try:
        return check_http_url(url or "")
    except ValueError:
        return ""


def draw_context(draw: Draw) -> dict:
    """A draw's facts as the templates show them."""
    label = registry.get(draw.source).score_label(draw.score_system)
    if draw.score_min is not None and draw.score_max is not None:
        score, label = f"{draw.score_min} to {draw.score_max}", f"{label} range"
    elif draw.score_min is not None:
        score, label = f"{draw.score_min} and above", f"Lowest {label} invited"
    else:
        score = ""
    start, end = draw.window_start, draw.window_end
    window = (f"between {_moment(start)} and {_moment(end)}" if start and end
              else f"by {_moment(end)}" if end else f"from {_moment(start)}" if start else "")
    return {
        "headline": headline(draw), "source": draw.source, "key": draw.key, "title": draw.title,
        "date": draw.date.isoformat() if draw.date else "", "invitations": draw.invitations,
        "score": score, "score_label": label, "tiebreak": _moment(draw.tiebreak_time), "window": window,
        "region": draw.region or "", "nocs": list(draw.noc_codes or []), "noc_version": draw.noc_version or "",
        "url": link_url(draw.url),
    }


def change_list(changes: dict) -> list[dict]:
    def show(value):
        if value is None or value == []:
            return "(none)"
        return ", ".join(value) if isinstance(value, list) else str(value)

    return [{"fact": FACT_LABELS.get(k, k), "old": show(old), "new": show(new)} for k, (old, new) in changes.items()]


def render(kind: str, fmt: str, context: dict, directory: Path | None = None) -> tuple[str, str]:
    """(title, body) of message ``kind`` in ``fmt`` ("text", "markdown" or "html")."""
    title = " ".join(_render(f"{kind}.title", context, directory).split())
    body = _render(f"{kind}.{SUFFIX[fmt]}", context, directory).strip() + "\n"
    return title, body


def _render(name: str, context: dict, directory: Path | None) -> str:
    template = environment(directory).get_template(name)
    try:
        return template.render(context)
    except jinja2.TemplateError as exc:  # SecurityError (the sandbox), an undefined name, ...
        # A template's fault is the config's: say which file.
        raise TemplateError(f"template {template.filename}: {type(exc).__name__}: {exc}") from None
