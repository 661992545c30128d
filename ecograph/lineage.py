"""Lineages of foundations: vendor, series, size (DESIGN §8; pure).

For a foundation (DESIGN §5: a non-missing node with no parents and at least one child):

- **vendor** = display name of the publishing organisation, from a curated alias table
  (``ecograph/data/lineages.toml``: ``meta-llama``, ``facebook`` → Meta; ``Qwen`` → Qwen
  (Alibaba); ...), matched case-insensitively; an unknown org is its own vendor, as spelled.
- **series** = the generation (``Llama 2``, ``Llama 3.1``, ``Qwen2.5``, ``Gemma 2``): the
  model name with size, variant (``-Instruct``, ``-chat``, ``-hf``, ``-it``, ``-Base``, ...)
  and date tokens removed (:func:`parse_name`). A name with nothing to remove is its own
  series, as spelled; a name made only of such tokens too.
- **params_b** = parameter count in billions: the Hub's ``safetensors.total`` when known
  (a ``safetensors_total`` column of ``models``, when present), else parsed from the name
  (``8B`` → 8, ``0.5B``, ``135M`` → 0.135, ``8x7B`` → 56 and ``17B-16E`` → 272 as nominal
  upper bounds: experts × size).
- **size_class** (:data:`SIZE_CLASSES`): ``<1B``, ``1-4B``, ``5-9B``, ``10-20B``,
  ``21-40B``, ``41-80B``, ``>80B``. The bounds are read as names spell sizes: the count is
  rounded to one decimal (a 999,885,952-parameter "1B" model is 1.0B), then classed by its
  whole billions, so each class runs up to the next one's lower bound (4.5B → ``1-4B``,
  9.2B → ``5-9B``, 80.4B → ``41-80B``, 81B → ``>80B``).
- **released** = the foundation's ``created_at`` (a date, UTC).

Users extend or override the table with a CSV or TOML file (:func:`load_table`).
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from .errors import InputError

__all__ = [
    "SIZE_CLASSES",
    "LINEAGE_SCHEMA",
    "LineageTable",
    "SeriesRule",
    "ParsedName",
    "default_table",
    "load_table",
    "resolve_table",
    "parse_name",
    "params_from_name",
    "size_class",
    "size_class_expr",
    "lineages",
]

#: The size classes, smallest first (DESIGN §8).
SIZE_CLASSES: tuple[str, ...] = ("<1B", "1-4B", "5-9B", "10-20B", "21-40B", "41-80B", ">80B")
#: Lower bound (billions, after rounding to one decimal) of each class but the first.
_CLASS_BOUNDS: tuple[float, ...] = (1, 5, 10, 21, 41, 81)

#: Columns and dtypes of :func:`lineages`.
LINEAGE_SCHEMA: dict[str, pl.DataType] = {
    "root": pl.Utf8(),
    "vendor": pl.Utf8(),
    "series": pl.Utf8(),
    "params_b": pl.Float64(),
    "size_class": pl.Utf8(),
    "released": pl.Date(),
}


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class SeriesRule:
    """``series`` for the ids equal to ``model_id`` (case-insensitive) or matched by
    ``pattern`` (a regular expression searched in the id, case-insensitively)."""

    series: str
    model_id: str | None = None
    pattern: re.Pattern[str] | None = None
    where: str = ""  # file:line, for messages

    def matches(self, model_id: str) -> bool:
        """Whether this rule names ``model_id``."""
        if self.model_id is not None:
            return self.model_id == model_id.lower()
        return self.pattern is not None and self.pattern.search(model_id) is not None


@dataclass(frozen=True)
class LineageTable:
    """The curated knowledge :func:`lineages` applies.

    ``vendors`` maps lower-case org → vendor; ``rules`` assign series to ids (the first
    match wins); ``spelling`` maps a lower-case name word → its display spelling;
    ``series_spelling`` maps the lower-case first words of a series → the vendor's
    spelling; ``strip_prefixes`` are leading name words that repeat the vendor.

    Examples
    --------
    >>> table = default_table()
    >>> table.vendor("META-LLAMA/Llama-2-7b-hf"), table.vendor("someone/model")
    ('Meta', 'someone')
    >>> table.series("meta-llama/Meta-Llama-3.1-8B-Instruct")
    'Llama 3.1'
    """

    vendors: Mapping[str, str] = field(default_factory=dict)
    rules: tuple[SeriesRule, ...] = ()
    spelling: Mapping[str, str] = field(default_factory=dict)
    series_spelling: Mapping[str, str] = field(default_factory=dict)
    strip_prefixes: frozenset[str] = frozenset()

    def extended(self, other: LineageTable) -> LineageTable:
        """This table with ``other``'s rows added; where both say something, ``other`` wins
        (its series rules are tried first)."""
        return LineageTable(
            vendors={**self.vendors, **other.vendors},
            rules=other.rules + self.rules,
            spelling={**self.spelling, **other.spelling},
            series_spelling={**self.series_spelling, **other.series_spelling},
            strip_prefixes=self.strip_prefixes | other.strip_prefixes,
        )

    def vendor(self, model_id: str) -> str:
        """The vendor of a model id: its org through the alias table, else the org as
        spelled (the id itself for a legacy id without an org)."""
        org = model_id.split("/", 1)[0] if "/" in model_id else model_id
        return self.vendors.get(org.lower(), org)

    def series(self, model_id: str) -> str:
        """The series of a model id: the first matching rule, else :func:`parse_name`."""
        for rule in self.rules:
            if rule.matches(model_id):
                return rule.series
        return self.parse(model_id.rsplit("/", 1)[-1]).series

    def series_by_rules(self, model_ids: list[str]) -> list[str | None]:
        """The series the rules give each id (None: no rule matches), all ids at once."""
        out: list[str | None] = [None] * len(model_ids)
        ids = pl.Series(model_ids, dtype=pl.Utf8) if len(model_ids) > 1000 else None
        positions: dict[str, list[int]] | None = None
        for rule in self.rules:
            if rule.model_id is not None:
                if positions is None:
                    positions = {}
                    for j, mid in enumerate(model_ids):
                        positions.setdefault(mid.lower(), []).append(j)
                hits = [j for j in positions.get(rule.model_id, ()) if out[j] is None]
            elif rule.pattern is not None:
                search = rule.pattern.search
                hits = [j for j in _candidates(rule.pattern, model_ids, ids)
                        if out[j] is None and search(model_ids[j]) is not None]
            else:
                hits = []
            for j in hits:
                out[j] = rule.series
        return out

    def parse(self, name: str) -> ParsedName:
        """:func:`parse_name` with this table's spellings (memoised per table)."""
        hit = self._parsed.get(name)
        if hit is None:
            hit = self._parsed[name] = _parse(name, self)
        return hit

    _parsed: dict[str, ParsedName] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )


def _candidates(pattern: re.Pattern[str], model_ids: list[str], ids: pl.Series | None
                ) -> Iterable[int]:
    """Positions of the ids ``pattern`` may match: a vectorised prefilter (polars' regex
    engine) on many ids when it understands the pattern; Python's ``re`` decides."""
    if ids is not None:
        try:
            mask = ids.str.contains("(?i)" + pattern.pattern)
        except Exception:  # noqa: BLE001 - a pattern only Python's re understands
            return range(len(model_ids))
        return mask.fill_null(False).arg_true().to_list()
    return range(len(model_ids))


@lru_cache(maxsize=1)
def default_table() -> LineageTable:
    """The curated table shipped with ecograph (``ecograph/data/lineages.toml``)."""
    text = resources.files("ecograph").joinpath("data/lineages.toml").read_text("utf-8")
    return _table_from_toml(text, "lineages.toml")


def resolve_table(overrides: str | Path | LineageTable | None = None) -> LineageTable:
    """The table to use: the default one, extended by ``overrides`` (a file for
    :func:`load_table`, or a :class:`LineageTable`)."""
    if overrides is None:
        return default_table()
    extra = overrides if isinstance(overrides, LineageTable) else load_table(overrides)
    return default_table().extended(extra)


# --------------------------------------------------------------------------- files


def load_table(path: str | Path) -> LineageTable:
    """Read a user's lineage file: CSV or TOML (by its suffix).

    **CSV**: a header line naming some of ``org``, ``vendor``, ``id``, ``pattern`` (or
    ``regex``), ``series``; then rows that set a vendor (``org`` and ``vendor``) and/or a
    series (``id`` or ``pattern``, and ``series``). Blank lines and lines starting with
    ``#`` are skipped. **TOML**: a ``[vendors]`` table (``"org" = "Vendor"``) and
    ``[[series]]`` entries with ``id`` or ``pattern`` and ``series`` (also accepted:
    ``[spelling]``, ``[series_spelling]``, ``strip_prefixes``, as in the bundled file).

    Patterns are regular expressions searched in the id, case-insensitively; ids and orgs
    match case-insensitively.

    Raises
    ------
    InputError
        When the file cannot be read or is malformed; the message names the file and line.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "mine.csv")
    >>> _ = open(path, "w").write("org,vendor,pattern,series\\nacme,ACME Labs,,\\n"
    ...                           ",,^acme/rocket-,Rocket\\n")
    >>> table = resolve_table(path)
    >>> table.vendor("Acme/rocket-2-7b"), table.series("acme/rocket-2-7b")
    ('ACME Labs', 'Rocket')
    >>> _ = open(path, "w").write("org,vendor\\nacme\\n")
    >>> load_table(path)
    Traceback (most recent call last):
    ...
    ecograph.errors.InputError: ...mine.csv:2: expected 2 fields (org,vendor), got 1
    """
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read lineages file {p}: {exc}") from None
    suffix = p.suffix.lower()
    if suffix == ".toml":
        return _table_from_toml(text, str(p))
    if suffix == ".csv":
        return _table_from_csv(text, str(p))
    raise InputError(f"lineages file {p}: expected a .csv or .toml file")


_CSV_COLUMNS = ("org", "vendor", "id", "pattern", "series")


def _table_from_csv(text: str, where: str) -> LineageTable:
    rows = [
        (num, line)
        for num, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not rows:
        raise InputError(f"{where}: empty lineages file (expected a header line)")
    vendors: dict[str, str] = {}
    rules: list[SeriesRule] = []
    header: list[str] = []
    for num, line in rows:
        fields = next(csv.reader(io.StringIO(line)))
        if not header:
            header = [f.strip().lower() for f in fields]
            header = ["pattern" if h == "regex" else h for h in header]
            unknown = [h for h in header if h not in _CSV_COLUMNS]
            if unknown or len(set(header)) != len(header):
                raise InputError(
                    f"{where}:{num}: header must name some of {', '.join(_CSV_COLUMNS)} "
                    f"once each, got {','.join(fields)}"
                )
            continue
        if len(fields) != len(header):
            raise InputError(
                f"{where}:{num}: expected {len(header)} fields ({','.join(header)}), "
                f"got {len(fields)}"
            )
        row = {h: f.strip() for h, f in zip(header, fields, strict=True)}
        _add_row(row, vendors, rules, f"{where}:{num}")
    return LineageTable(vendors=vendors, rules=tuple(rules))


def _add_row(
    row: Mapping[str, Any], vendors: dict[str, str], rules: list[SeriesRule], where: str
) -> None:
    """Add one CSV row / TOML entry (already split into named fields) to the table."""
    org, vendor = row.get("org") or "", row.get("vendor") or ""
    mid, pattern, series = row.get("id") or "", row.get("pattern") or "", row.get("series") or ""
    for name, value in (("org", org), ("vendor", vendor), ("id", mid), ("pattern", pattern),
                        ("series", series)):
        if not isinstance(value, str):
            raise InputError(f"{where}: {name} must be a string, got {value!r}")
    if not (org or vendor or mid or pattern or series):
        raise InputError(f"{where}: empty row (give org and vendor, or id/pattern and series)")
    if bool(org) != bool(vendor):
        raise InputError(f"{where}: org and vendor go together")
    if org:
        vendors[org.lower()] = vendor
    if mid or pattern or series:
        if not series:
            raise InputError(f"{where}: id or pattern without a series")
        if bool(mid) == bool(pattern):
            raise InputError(f"{where}: a series needs exactly one of id or pattern")
        if mid:
            rules.append(SeriesRule(series=series, model_id=mid.lower(), where=where))
        else:
            try:
                compiled = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise InputError(f"{where}: bad pattern {pattern!r}: {exc}") from None
            rules.append(SeriesRule(series=series, pattern=compiled, where=where))


_TOML_KEYS = ("vendors", "series", "spelling", "series_spelling", "strip_prefixes")


def _table_from_toml(text: str, where: str) -> LineageTable:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: malformed TOML: {exc}") from None
    lines = text.splitlines()
    for key in data:
        if key not in _TOML_KEYS:
            raise InputError(
                f"{where}:{_line_of(lines, key)}: unknown key {key!r} "
                f"(expected {', '.join(_TOML_KEYS)})"
            )
    maps: dict[str, dict[str, str]] = {}
    for key in ("vendors", "spelling", "series_spelling"):
        table = data.get(key, {})
        if not isinstance(table, dict):
            raise InputError(f"{where}:{_line_of(lines, key)}: {key} must be a table")
        for k, v in table.items():
            if not isinstance(v, str):
                raise InputError(f"{where}:{_line_of(lines, k)}: {k} must map to a string")
        maps[key] = {k.lower(): v for k, v in table.items()}
    prefixes = data.get("strip_prefixes", [])
    if not isinstance(prefixes, list) or not all(isinstance(s, str) for s in prefixes):
        raise InputError(
            f"{where}:{_line_of(lines, 'strip_prefixes')}: strip_prefixes must be a list of "
            "strings"
        )
    entries = data.get("series", [])
    if not isinstance(entries, list):
        raise InputError(f"{where}:{_line_of(lines, 'series')}: series must be [[series]] "
                         "entries")
    headers = [i for i, line in enumerate(lines, 1)
               if re.match(r"\s*\[\[\s*series\s*\]\]", line)]
    rules: list[SeriesRule] = []
    for i, entry in enumerate(entries):
        num = headers[i] if i < len(headers) else _line_of(lines, "series")
        if not isinstance(entry, dict):
            raise InputError(f"{where}:{num}: a series entry must be a table")
        extra = sorted(set(entry) - {"id", "pattern", "regex", "series"})
        if extra:
            raise InputError(f"{where}:{num}: unknown key {extra[0]!r} in a series entry")
        row = {**entry, "pattern": entry.get("pattern", entry.get("regex", ""))}
        _add_row(row, {}, rules, f"{where}:{num}")
    return LineageTable(
        vendors=maps["vendors"],
        rules=tuple(rules),
        spelling=maps["spelling"],
        series_spelling=maps["series_spelling"],
        strip_prefixes=frozenset(s.lower() for s in prefixes),
    )


def _line_of(lines: list[str], key: str) -> int:
    """Line number (1-based) of the first line that defines ``key`` (best effort: 1)."""
    pat = re.compile(rf"""^\s*(\[+\s*)?["']?{re.escape(key)}["']?\s*(=|\])""")
    for i, line in enumerate(lines, 1):
        if pat.match(line):
            return i
    return 1


# --------------------------------------------------------------------------- names


class ParsedName(NamedTuple):
    """What a model name tells: its series and its size (billions, or None)."""

    series: str
    params_b: float | None


_VARIANTS = frozenset(
    """instruct instruction chat hf it base pt sft dpo rlhf orpo simpo grpo kto preview
    deduped thinking original fp16 bf16 fp8 fp32 int4 int8 gguf ggml awq gptq exl2 mlx onnx
    bnb 4bit 8bit 16bit 32bit qat unquantized""".split()
)
_SIZE_WORDS = frozenset(
    "mini small medium large xl xxl tiny nano scout maverick behemoth".split()
)
_SIZE = re.compile(r"(\d+(?:\.\d+)?)([bm])")
_BLOOM_SIZE = re.compile(r"(\d+)b(\d+)")  # bloom-7b1 = 7.1B
_MOE = re.compile(r"(\d+)x(\d+(?:\.\d+)?)([bm])")  # 8x7b
_ACTIVE = re.compile(r"a(\d+(?:\.\d+)?)([bm])")  # Qwen3-30B-A3B: 3B active
_EXPERTS = re.compile(r"(\d+)e")  # Llama-4-Scout-17B-16E: 16 experts
_CONTEXT = re.compile(r"\d+(?:\.\d+)?k")  # 4k, 128k, 1431k (steps)
_TOKENS = re.compile(r"(\d+e)?\d+(?:\.\d+)?t")  # 3T training tokens, 4e1t
_QUANT = re.compile(r"q\d+(_[a-z0-9]+)+|w\d+a\d+", re.IGNORECASE)
_VARIANT_N = re.compile(r"(instruct|chat)\d+")  # instruct3
_REVISION = re.compile(r"v(\d+)(\.\d+)*")
_MONTH = re.compile(r"0[1-9]|1[0-2]")
_YEAR = re.compile(r"20[12]\d")
_DATE8 = re.compile(r"20[12]\d(0[1-9]|1[0-2])\d\d")
_STEM = re.compile(r"([a-z]+)(\d[\d.]*)")


def _is_date4(tok: str) -> bool:
    """``YYMM`` (2201-2912), ``MMDD`` / ``MMYY`` (a month first), or a year 2010-2029."""
    if len(tok) != 4 or not tok.isdigit():
        return False
    head, tail = int(tok[:2]), int(tok[2:])
    if _YEAR.fullmatch(tok):
        return True
    if 1 <= head <= 12 and 1 <= tail <= 31:
        return True
    return 22 <= head <= 29 and 1 <= tail <= 12


def _size_value(number: str, unit: str) -> float:
    return float(number) / (1000.0 if unit == "m" else 1.0)


def _tokens(name: str) -> list[str]:
    """Split a name into words at ``-`` / whitespace, and at ``_`` except between digits
    (``1_5`` is 1.5: ``phi-1_5``, ``OpenELM-1_1B``); quantization words like ``q4_0`` stay
    whole."""
    out: list[str] = []
    for part in re.split(r"[-\s]+", name):
        if not part:
            continue
        if _QUANT.fullmatch(part):
            out.append(part)
            continue
        part = re.sub(r"(?<=\d)_(?=\d)", ".", part)
        out.extend(p for p in part.split("_") if p)
    return out


def parse_name(name: str, table: LineageTable | None = None) -> ParsedName:
    """The series and the size a model name spells (DESIGN §8).

    Removed from the series: size tokens (``8B``, ``0.5B``, ``135M``, ``1.5b``, ``1_1B``,
    ``7b1``, ``8x7B``, ``17B-16E``, ``A3B`` active parameters), size words after a version
    number (``Phi-3-mini``, ``Llama-4-Scout``), context and training-token counts
    (``4k``, ``128K``, ``3T``), variants (``-Instruct``, ``-chat``, ``-hf``, ``-it``,
    ``-Base``, ``-pt``, ``-sft``, quantization formats, ...), dates (``2501``, ``0414``,
    ``12-2024``, ``20240101``) and revisions (``v0.1``; ``v1.5`` only after a size or a
    variant: ``DeepSeek-V3`` keeps its ``V3``), and a leading word that repeats the vendor
    (``Meta-``, ``c4ai-``). The words left are joined with spaces and spelled as the table
    says (``gemma`` → ``Gemma``; ``phi 3`` → ``Phi-3``). A name with nothing to remove and
    nothing to re-spell is its own series, as spelled; so is a name made only of such tokens.

    ``params_b`` is the largest size the name spells (``8x7B`` → 56, ``17B-16E`` → 272:
    nominal upper bounds; ``OLMoE-1B-7B`` → 7), or None.

    Examples
    --------
    >>> parse_name("Llama-2-7b-chat-hf")
    ParsedName(series='Llama 2', params_b=7.0)
    >>> parse_name("Qwen2.5-0.5B-Instruct")
    ParsedName(series='Qwen2.5', params_b=0.5)
    >>> parse_name("gemma-2-9b-it")
    ParsedName(series='Gemma 2', params_b=9.0)
    >>> parse_name("Mistral-Small-24B-Base-2501")
    ParsedName(series='Mistral Small', params_b=24.0)
    >>> parse_name("Llama-4-Scout-17B-16E-Instruct")
    ParsedName(series='Llama 4', params_b=272.0)
    >>> parse_name("starcoderplus")
    ParsedName(series='starcoderplus', params_b=None)
    """
    return (table or default_table()).parse(name)


def _parse(name: str, table: LineageTable) -> ParsedName:
    spelling, series_spelling = table.spelling, table.series_spelling
    toks = _tokens(name)
    kept: list[str] = []
    sizes: list[float] = []
    removed = False
    suffix = False  # a size or a variant was seen: what follows is a suffix
    last_size: float | None = None
    for i, tok in enumerate(toks):
        low = tok.lower()
        size: float | None = None
        drop = True
        if m := _SIZE.fullmatch(low):
            size = _size_value(m[1], m[2])
        elif m := _BLOOM_SIZE.fullmatch(low):
            size = float(f"{m[1]}.{m[2]}")
        elif m := _MOE.fullmatch(low):
            size = int(m[1]) * _size_value(m[2], m[3])
        elif (m := _EXPERTS.fullmatch(low)) and last_size is not None:
            sizes[-1] = last_size * int(m[1])  # 17B-16E: experts x size
            last_size = None
            removed = True
            continue
        elif _ACTIVE.fullmatch(low) and (sizes or i > 0):
            pass
        elif _CONTEXT.fullmatch(low) or _TOKENS.fullmatch(low):
            pass
        elif low in _VARIANTS or _VARIANT_N.fullmatch(low) or _QUANT.fullmatch(low):
            suffix = True
        elif (m := _REVISION.fullmatch(low)) and (suffix or m[1].startswith("0")):
            pass
        elif _is_date4(low) or _DATE8.fullmatch(low):
            pass
        elif (
            _MONTH.fullmatch(low)
            and i + 1 < len(toks)
            and _YEAR.fullmatch(toks[i + 1])
        ):
            pass
        elif low in _SIZE_WORDS and kept and kept[-1][-1:].isdigit():
            pass
        else:
            drop = False
        last_size = size
        if size is not None:
            sizes.append(size)
            suffix = True
        if drop:
            removed = True
        else:
            kept.append(tok)
    params = max(sizes) if sizes else None
    if len(kept) > 1 and kept[0].lower() in table.strip_prefixes:
        kept = kept[1:]
        removed = True
    if not kept:
        return ParsedName(name, params)
    spelled = [_respell(tok, spelling) for tok in kept]
    if not removed and spelled == kept:
        series = name
    else:
        series = " ".join(spelled)
    return ParsedName(_series_spelling(series, series_spelling), params)


def _respell(tok: str, spelling: Mapping[str, str]) -> str:
    low = tok.lower()
    if low in spelling:
        return spelling[low]
    m = _STEM.fullmatch(low)
    if m and m[1] in spelling:
        return spelling[m[1]] + tok[len(m[1]):]
    return tok


def _series_spelling(series: str, series_spelling: Mapping[str, str]) -> str:
    """Apply the longest ``series_spelling`` key that is the series' first words."""
    words = series.split(" ")
    low = [w.lower() for w in words]
    for n in range(len(words), 0, -1):
        hit = series_spelling.get(" ".join(low[:n]))
        if hit is not None:
            return " ".join([hit, *words[n:]])
    return series


def params_from_name(name: str) -> float | None:
    """The parameter count (billions) a model name spells, or None.

    >>> params_from_name("SmolLM2-135M"), params_from_name("Mixtral-8x7B-v0.1")
    (0.135, 56.0)
    """
    return parse_name(name).params_b


# --------------------------------------------------------------------------- sizes


def size_class(params_b: float | None) -> str | None:
    """The size class of a parameter count in billions (None when unknown).

    >>> [size_class(v) for v in (0.135, 0.99989, 4.5, 9.24, 20.9, 70.6, 80.4, 81.0, None)]
    ['<1B', '1-4B', '1-4B', '5-9B', '10-20B', '41-80B', '41-80B', '>80B', None]
    """
    if params_b is None:
        return None
    value = round(float(params_b), 1)
    for label, bound in zip(SIZE_CLASSES, _CLASS_BOUNDS, strict=False):
        if value < bound:
            return label
    return SIZE_CLASSES[-1]


def size_class_expr(params_b: pl.Expr) -> pl.Expr:
    """:func:`size_class` as a polars expression over a Float64 column."""
    value = params_b.round(1)
    expr: Any = pl.when(value.is_null()).then(pl.lit(None, dtype=pl.Utf8))
    for label, bound in zip(SIZE_CLASSES, _CLASS_BOUNDS, strict=False):
        expr = expr.when(value < bound).then(pl.lit(label))
    return expr.otherwise(pl.lit(SIZE_CLASSES[-1]))


# --------------------------------------------------------------------------- frames


def lineages(
    models: pl.DataFrame,
    roots: Iterable[str] | pl.Series,
    overrides: str | Path | LineageTable | None = None,
) -> pl.DataFrame:
    """The lineage of each root: ``root``, ``vendor``, ``series``, ``params_b``,
    ``size_class``, ``released`` (:data:`LINEAGE_SCHEMA`), in the order of ``roots``.

    Each distinct id is parsed once; the rest is polars. ``params_b`` comes from a
    ``safetensors_total`` column of ``models`` (a parameter count) when present and
    positive, else from the name; ``released`` from ``created_at``. Roots without a row in
    ``models`` get nulls there.

    Parameters
    ----------
    models : polars.DataFrame
        The ``models`` frame (``id``; optional ``created_at``, ``safetensors_total``).
    roots : iterable of str
        Foundation ids (e.g. :func:`ecograph.graph.foundations`); duplicates are kept.
    overrides : path or LineageTable, optional
        A user file (:func:`load_table`) or table extending the default one.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> m = pl.DataFrame({
    ...     "id": ["meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-0.5B", "acme/Rocket-2-70B"],
    ...     "created_at": [datetime(2024, 7, 18, 9, tzinfo=timezone.utc), None, None],
    ...     "safetensors_total": [8_030_261_248, None, None]})
    >>> lineages(m, m["id"]).rows()  # doctest: +NORMALIZE_WHITESPACE
    [('meta-llama/Llama-3.1-8B', 'Meta', 'Llama 3.1', 8.030261248, '5-9B',
      datetime.date(2024, 7, 18)),
     ('Qwen/Qwen2.5-0.5B', 'Qwen (Alibaba)', 'Qwen2.5', 0.5, '<1B', None),
     ('acme/Rocket-2-70B', 'acme', 'Rocket 2', 70.0, '41-80B', None)]
    """
    table = resolve_table(overrides)
    root = pl.Series("root", roots, dtype=pl.Utf8) if not isinstance(
        roots, pl.Series) else roots.cast(pl.Utf8).rename("root")
    distinct = root.unique(maintain_order=True).drop_nulls()
    # each distinct name is parsed once; vendors and rules are applied to the distinct ids
    names = distinct.str.split("/").list.last()
    unique_names = names.unique()
    parsed_names = [table.parse(name) for name in unique_names.to_list()]
    by_name = pl.DataFrame(
        {
            "_name": unique_names,
            "_name_series": [p.series for p in parsed_names],
            "_name_params": [p.params_b for p in parsed_names],
        },
        schema={"_name": pl.Utf8, "_name_series": pl.Utf8, "_name_params": pl.Float64},
    )
    org = (
        pl.when(distinct.str.contains("/", literal=True))
        .then(distinct.str.split("/").list.first())
        .otherwise(distinct)
    )
    parsed = (
        pl.DataFrame(
            {
                "root": distinct,
                "_name": names,
                "_rule_series": pl.Series(table.series_by_rules(distinct.to_list()),
                                          dtype=pl.Utf8),
            }
        )
        .with_columns(org.alias("_org"))
        .join(by_name, on="_name", how="left", maintain_order="left")
        .select(
            "root",
            pl.col("_org")
            .str.to_lowercase()
            .replace_strict(dict(table.vendors), default=pl.col("_org"), return_dtype=pl.Utf8)
            .alias("vendor"),
            pl.coalesce("_rule_series", "_name_series").alias("series"),
            "_name_params",
        )
    )
    attrs = [pl.col("id").cast(pl.Utf8).alias("root")]
    if "created_at" in models.columns:
        created = pl.col("created_at")
        if isinstance(models.schema["created_at"], pl.Datetime):
            tz = models.schema["created_at"].time_zone  # type: ignore[union-attr]
            if tz is not None and tz != "UTC":
                created = created.dt.convert_time_zone("UTC")
        attrs.append(created.cast(pl.Date).alias("released"))
    if "safetensors_total" in models.columns:
        total = pl.col("safetensors_total").cast(pl.Float64)
        attrs.append(pl.when(total > 0).then(total / 1e9).alias("_hub_params"))
    known = (
        models.select(attrs)
        .filter(pl.col("root").is_in(distinct.implode()))
        .unique("root", keep="last")
    )
    out = (
        pl.DataFrame({"root": root})
        .join(parsed, on="root", how="left", maintain_order="left")
        .join(known, on="root", how="left", maintain_order="left")
    )
    hub = pl.col("_hub_params") if "_hub_params" in out.columns else pl.lit(None, pl.Float64)
    released = pl.col("released") if "released" in out.columns else pl.lit(None, pl.Date)
    params = pl.coalesce(hub, pl.col("_name_params")).alias("params_b")
    return out.select(
        "root",
        "vendor",
        "series",
        params,
        size_class_expr(params).alias("size_class"),
        released.cast(pl.Date).alias("released"),
    ).cast(LINEAGE_SCHEMA)  # type: ignore[arg-type]
