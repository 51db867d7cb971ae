"""Analyst commentary: ``<commentary dir>/<quarter id>/<section id>.md``, shown under a section's summary.

Commentary is Markdown (CommonMark plus tables) rendered with markdown-it-py with raw HTML off:
``<script>``, ``<img onerror=...>`` and the like appear as text. Links are kept only for http(s)
and mailto (markdown-it already refuses ``javascript:``, ``vbscript:``, ``file:`` and ``data:``);
images become their alt text, because the pack fetches nothing. Commentary headings are moved
below the section's own (its biggest becomes h4) so the pack's heading order holds.

HTML comments (``<!-- ... -->``) are the analyst's notes: they are removed before rendering, so
the pack never shows them, and a file holding only notes (such as an untouched stub written by
``boardpack commentary``, :mod:`helpers.commentary_stubs`) shows no commentary at all.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from helpers.quarters import Quarter, parse

COMMENTARY_HEADING = "Analyst commentary"
TOP_HEADING_LEVEL = 4  # the section is h2, its parts h3; commentary headings start at h4
SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")
_NOTE = re.compile(r"<!--.*?-->", re.DOTALL)  # an unclosed "<!--" stays, shown as text


class CommentaryError(ValueError):
    """A commentary file that cannot be read (the message names the file)."""


def _image_as_text(renderer, tokens, idx, options, env) -> str:
    alt = "".join(child.content for child in (tokens[idx].children or []))
    return html.escape(f"[image: {alt}]" if alt else "[image]", quote=False)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    md.add_render_rule("image", _image_as_text)

    def link_open(renderer, tokens, idx, options, env):
        token = tokens[idx]
        href = (token.attrGet("href") or "").strip()
        if not href.lower().startswith(SAFE_LINK_SCHEMES):
            token.attrs.pop("href", None)  # keep the words, drop a relative or odd target
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    _md_heading_shift(md)
    return md


def _md_heading_shift(md: MarkdownIt) -> None:
    def shift(state) -> None:
        headings = [t for t in state.tokens if t.type in ("heading_open", "heading_close")]
        if not headings:
            return
        # The commentary's biggest heading becomes h4, whatever level the analyst wrote it at.
        offset = TOP_HEADING_LEVEL - min(int(t.tag[1]) for t in headings)
        for token in headings:
            token.tag = f"h{min(6, int(token.tag[1]) + offset)}"

    md.core.ruler.push("boardpack_heading_shift", shift)


_MD = _parser()


def without_notes(text: str) -> str:
    """``text`` with its HTML comments (the analyst's notes) removed."""
    return _NOTE.sub("", text)


def render_markdown(text: str) -> str:
    """Commentary Markdown -> HTML, with raw HTML escaped and only http(s)/mailto links."""
    if not isinstance(text, str):
        raise TypeError(f"render_markdown: expected text, got {type(text).__name__}")
    return _MD.render(text)


@dataclass(frozen=True)
class Commentary:
    """One section's commentary: the Markdown as written and its safe HTML."""

    path: Path
    text: str
    html: str

    def _repr_html_(self) -> str:
        return (
            f'<section class="bp-commentary" aria-label="{COMMENTARY_HEADING}">\n'
            f"<h3>{COMMENTARY_HEADING}</h3>\n{self.html}</section>"
        )

    def _repr_markdown_(self) -> str:
        # Front ends that prefer Markdown still get the escaped HTML, never the raw text.
        return self._repr_html_()

    def __repr__(self) -> str:
        # text/plain in notebooks: the heading and the file's name, not its absolute path, so a
        # section's outputs (and content hash) do not depend on where the project is checked out.
        return f"{COMMENTARY_HEADING} ({self.path.name})"


def commentary_path(commentary_dir: str | Path, quarter: str | Quarter, section_id: str) -> Path:
    """``<commentary_dir>/<quarter id>/<section_id>.md``."""
    return Path(commentary_dir) / parse(quarter).id / f"{section_id}.md"


def load_commentary(commentary_dir: str | Path, quarter: str | Quarter, section_id: str) -> Commentary | None:
    """The section's commentary for the quarter, or None when there is no file, or it is blank or
    holds only notes (HTML comments)."""
    path = commentary_path(commentary_dir, quarter, section_id)
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise CommentaryError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8"
        ) from None
    shown = without_notes(text)
    if not shown.strip():
        return None
    return Commentary(path=path, text=text, html=render_markdown(shown))
