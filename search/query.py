"""Search requests (validated) and user query text -> Whoosh query."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from whoosh import qparser, query
from whoosh.qparser import plugins

from .errors import BadRequest
from .schema import SEARCH_FIELDS

MAX_QUERY_CHARS = 500
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
MAX_RESULT_WINDOW = 10_000  # page * per_page: deeper pages are refused, not computed
MAX_FILTER_VALUES = 50
MAX_FILTER_CHARS = 200

_WORD_RE = re.compile(r"\w+")
# A minus that starts a word excludes it; one inside a word ("covid-19") does not.
_MINUS_RE = re.compile(r"(?:(?<=\s)|^)-+(?=[\w\"(])")
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    drug: tuple[str, ...] = ()
    indication: tuple[str, ...] = ()
    section: tuple[str, ...] = ()
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def filters(self) -> dict[str, tuple[str, ...]]:
        return {"drug": self.drug, "indication": self.indication, "section": self.section}

    @classmethod
    def from_params(cls, get: Callable[[str], str | None],
                    get_list: Callable[[str], Sequence[str]]) -> SearchRequest:
        """Validate raw parameters (strings); raises BadRequest with a plain message."""
        q = (get("q") or "").strip()
        if len(q) > MAX_QUERY_CHARS:
            raise BadRequest(f"q is longer than {MAX_QUERY_CHARS} characters")
        page = _integer(get("page"), "page", 1, 1, MAX_RESULT_WINDOW)
        per_page = _integer(get("per_page"), "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        if page * per_page > MAX_RESULT_WINDOW:
            raise BadRequest(f"page * per_page must not exceed {MAX_RESULT_WINDOW}")
        filters = {name: _filter_values(get_list(name), name)
                   for name in ("drug", "indication", "section")}
        return cls(q=q, page=page, per_page=per_page, **filters)


def _integer(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def _filter_values(values: Sequence[str], name: str) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if len(cleaned) > MAX_FILTER_VALUES:
        raise BadRequest(f"at most {MAX_FILTER_VALUES} {name} values")
    if any(len(v) > MAX_FILTER_CHARS for v in cleaned):
        raise BadRequest(f"a {name} value is longer than {MAX_FILTER_CHARS} characters")
    return cleaned


def build_parser(schema) -> qparser.QueryParser:
    """Words AND together over name, heading and body; "phrases", OR and NOT work (a
    leading minus becomes NOT in parse_query). Field, wildcard, range, boost and
    single-quote syntax are off: readers type "crohn's" and "what dose?" and mean words."""
    parser = qparser.MultifieldParser(list(SEARCH_FIELDS), schema, group=qparser.AndGroup)
    for plugin in (plugins.FieldsPlugin, plugins.WildcardPlugin, plugins.RangePlugin,
                   plugins.BoostPlugin, plugins.SingleQuotePlugin, plugins.EveryPlugin):
        parser.remove_plugin_class(plugin)
    return parser


def plain_words(text: str) -> list[str]:
    """The query's words without syntax: what a query the parser cannot handle becomes."""
    return [w for w in _WORD_RE.findall(text) if w.upper() not in _OPERATORS]


def parse_query(text: str, parser: qparser.QueryParser) -> query.Query:
    """A Whoosh query for the user's text; never raises for odd syntax."""
    if text.count('"') % 2:
        text = text.replace('"', " ")  # a stray quote would swallow the rest as a phrase
    text = _MINUS_RE.sub("NOT ", text)
    try:
        parsed = parser.parse(text)
    except Exception:  # noqa: BLE001 - any parser failure falls back to plain words
        parsed = None
    if parsed is None or _is_degenerate(parsed):
        words = plain_words(text)
        parsed = parser.parse(" ".join(words)) if words else query.NullQuery
    return parsed


def _is_degenerate(parsed: query.Query) -> bool:
    """A parse that lost the user's words (only operators, or an error node)."""
    if parsed is query.NullQuery:
        return True
    return any(isinstance(node, query.Query) and node.__class__.__name__ == "ErrorQuery"
               for node in parsed.leaves())
