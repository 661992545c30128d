"""Text from the data made safe for each output: pictures and HTML, Markdown, CSV (pure).

Model ids, authors and titles come from the Hub, from snapshot files and from the command
line, and may hold anything: NUL and other control characters, a byte-order mark, bidi
overrides, lone surrogates (undecodable command-line bytes), ``<script>``, Markdown links,
spreadsheet formulas. Every writer passes such text through one of these functions.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars loads when a frame is made safe, not with the command line
    import polars as pl

__all__ = ["CSV_FORMULA_PREFIXES", "csv_safe_frame", "csv_safe_text", "markdown_literal",
           "markdown_text", "plain_text"]

# C0 controls (except tab, newline, carriage return), DEL, C1 controls, and the two
# noncharacters XML refuses
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_BREAKS = re.compile("[\t\n\r]+")
# ASCII punctuation Markdown (CommonMark + GFM tables, autolinks) may act on; '-', '/'
# and ',' only matter at the start of a line, which no escaped value is
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+.!|~:@&$^\"'=;?%])")


def plain_text(value: object, *, keep_newlines: bool = False) -> str:
    r"""``value`` as text any renderer can draw and any XML/HTML file can hold.

    Drops control characters and invisible format characters (category ``Cf``: the
    byte-order mark U+FEFF, which crashes matplotlib's PDF and PS backends, zero-width
    spaces, bidi overrides), replaces lone surrogates with U+FFFD and turns tabs and line
    breaks into one space (``keep_newlines=True`` keeps ``\n``).

    Examples
    --------
    >>> plain_text("org/\ufeffname\x00\u202e")
    'org/name'
    >>> plain_text("two\r\nlines\tand a tab")
    'two lines and a tab'
    >>> plain_text("a\ud800b")
    'a\ufffdb'
    """
    text = str(value)
    if not text.isascii():
        text = "".join(
            "\ufffd" if "\ud800" <= ch <= "\udfff" else ch
            for ch in text
            if unicodedata.category(ch) != "Cf"
        )
    text = _CONTROL.sub("", text)
    if keep_newlines:
        return "\n".join(_BREAKS.sub(" ", line) for line in text.splitlines())
    return _BREAKS.sub(" ", text)


def markdown_text(value: object) -> str:
    r"""``value`` as literal Markdown text: :func:`plain_text`, then every character that
    could start a link, an image, HTML, emphasis, code or a table cell backslash-escaped.

    Examples
    --------
    >>> markdown_text("[x](https://evil.example) <b>|")
    '\\[x\\]\\(https\\://evil\\.example\\) \\<b\\>\\|'
    >>> markdown_text("meta-llama/Llama-3")
    'meta-llama/Llama-3'
    """
    return _MARKDOWN.sub(r"\\\1", plain_text(value))


_CODE_SAFE = re.compile(r"[A-Za-z0-9._/-]+")


def markdown_literal(value: object) -> str:
    r"""A model id or author for Markdown: a code span when it holds only id characters
    (``A-Z a-z 0-9 . _ / -``: nothing that can end a code span or split a table cell),
    else :func:`markdown_text`.

    Examples
    --------
    >>> markdown_literal("meta-llama/Llama-3.1-8B")
    '`meta-llama/Llama-3.1-8B`'
    >>> print(markdown_literal("x` <img src=x>|"))
    x\` \<img src\=x\>\|
    """
    text = plain_text(value)
    return f"`{text}`" if _CODE_SAFE.fullmatch(text) else markdown_text(text)


#: A CSV cell starting with one of these is a formula to a spreadsheet.
CSV_FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def csv_safe_text(value: str) -> str:
    """``value`` with a ``'`` in front when a spreadsheet would run it as a formula (it
    starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return; OWASP's rule).

    Examples
    --------
    >>> csv_safe_text("=HYPERLINK(\\"http://x\\")"), csv_safe_text("org/model")
    ('\\'=HYPERLINK("http://x")', 'org/model')
    """
    return "'" + value if value.startswith(CSV_FORMULA_PREFIXES) else value


def csv_safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every string cell that a spreadsheet would run as a formula
    prefixed with ``'`` (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return; :func:`csv_safe_text`, vectorised). Other columns unchanged.

    >>> import polars as pl
    >>> f = pl.DataFrame({"id": ["=cmd|' /C calc'!A0", "org/m"], "downloads": [-1, 2]})
    >>> csv_safe_frame(f).rows()
    [("'=cmd|' /C calc'!A0", -1), ('org/m', 2)]
    """
    import polars as pl

    risky = r"^[=+\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(risky))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.Utf8
    )
