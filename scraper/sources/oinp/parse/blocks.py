"""An Ontario page's headings and text blocks in reading order, read from its lxml tree
without recursion (nesting depth costs nothing), each block bounded in length."""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from scraper.parse import html
from scraper.parse import text as tx
from scraper.sources.oinp.parse.limits import MAX_BLOCK_CHARS
from scraper.records import ParseError

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_TEXT_TAGS = {"p", "li", "td", "th", "dt", "dd", "caption", "figcaption"}
_CONTAINERS = _TEXT_TAGS | _HEADINGS | {"ul", "ol", "table", "div", "section", "blockquote"}
_NESTED = _CONTAINERS - {"td", "th"}
_SKIP = {"script", "style", "nav", "button", "svg", "noscript", "form", "template", "head"}
_LOOSE_TEXT = {"div", "section", "body", "main", "article"}   # text straight inside is a block
_BR = "\u2029"   # stands for <br>: "0111 – Financial managers<br>0114 – ..." are lines



@dataclass
class Block:
    kind: str                   # "heading" | "text"
    text: str
    level: int = 0              # heading level
    anchor: str | None = None
    classes: tuple[str, ...] = ()
    group: int = 0              # the list a list item belongs to, else its own number
    is_li: bool = False
    lead: str = ""              # list items: the paragraph introducing the list
    anchor_links: tuple[str, ...] = ()   # in-page "#..." links
    link_chars: int = 0         # characters of text inside in-page links
    in_alert: bool = False
    lines: tuple[str, ...] = ()  # the text split at <br>


def _bounded(text: str) -> str:
    if len(text) > MAX_BLOCK_CHARS:
        raise ParseError(f"a paragraph of {len(text):,} characters ({text[:60]!r}...): "
                         f"no Ontario page has one over {MAX_BLOCK_CHARS:,}")
    return text


def _is_alert(el) -> bool:
    # "alert" inside any class name: a class name holds no space, so inside the attribute.
    return "alert" in (el.get("class") or "")


def _holding_blocks(root) -> set:
    """The elements with a block (list, paragraph, heading, div...) anywhere inside:
    one pass from the last element to the first, each asking only its children."""
    holds: set = set()
    for e in reversed(list(root.iter(etree.Element))):
        for c in e:
            if html.is_element(c) and (c.tag in _NESTED or c in holds):
                holds.add(e)
                break
    return holds


class _Walker:
    """The page's headings and text blocks in reading order. Iterative: a stack of
    (element, alert, list group, its children still to visit), so nesting depth costs
    no recursion; text straight inside a div-like element (lxml: an element's ``text``,
    and the ``tail`` of each child) is a block of its own."""

    def __init__(self, root) -> None:
        self.blocks: list[Block] = []
        self._n = 0
        self._last_text = ""
        self._holds = _holding_blocks(root)

    def _next(self) -> int:
        self._n += 1
        return self._n

    def _loose(self, parent, s: str | None, alert: bool) -> None:
        if parent.tag in _LOOSE_TEXT and s.strip():
            self._text([], s, alert, None, is_li=False)

    def walk(self, root) -> None:
        if root.text:
            self._loose(root, root.text, False)
        stack = [(root, False, None, iter(root))]
        while stack:
            el, alert, group, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if stack and el.tail:       # the tail of an element belongs to its parent
                    self._loose(stack[-1][0], el.tail, stack[-1][1])
                continue
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIP:        # comments, PIs; scripts, nav...
                if child.tail:
                    self._loose(el, child.tail, alert)
                continue
            in_alert = alert or _is_alert(child)
            if tag in _HEADINGS:
                self.blocks.append(Block(
                    "heading", _bounded(tx.clean(html.text(child))), level=int(tag[1]),
                    anchor=child.get("id") or None, classes=html.classes(child), in_alert=in_alert))
            elif tag in ("ul", "ol"):
                stack.append((child, in_alert, self._next(), iter(child)))
                continue
            elif tag in _TEXT_TAGS:
                is_li = tag == "li"
                if child in self._holds:
                    # A list item holding a sub-list: its own text is one block, the
                    # blocks inside follow.
                    links: list = []
                    own = html.text(child, prune=_CONTAINERS, br=_BR, links=links)
                    if own.strip():
                        self._text(links, own, in_alert, group, is_li)
                    stack.append((child, in_alert, group, iter(child)))
                    continue
                links = []
                self._text(links, html.text(child, br=_BR, links=links), in_alert, group, is_li)
            else:
                stack.append((child, in_alert, group, iter(child)))
                continue
            if child.tail:
                self._loose(el, child.tail, alert)

    def _text(self, links: list, raw: str, alert: bool, group: int | None, is_li: bool) -> None:
        """A text block; ``links``: the in-page ``<a>`` elements inside it."""
        text = _bounded(tx.clean(raw.replace(_BR, " ")))
        if not text:
            return
        lines = tuple(x for x in (tx.clean(p) for p in raw.split(_BR)) if x) if _BR in raw else (text,)
        self.blocks.append(Block(
            "text", text, group=group if group is not None else self._next(), is_li=is_li,
            lead=self._last_text if is_li else "", anchor_links=tuple(a.get("href")[1:] for a in links),
            link_chars=sum(len(tx.clean(html.text(a, br=_BR))) for a in links),
            in_alert=alert, lines=lines))
        if not is_li:
            self._last_text = text


def page_blocks(root) -> list[Block]:
    w = _Walker(root)
    w.walk(root)
    return w.blocks

