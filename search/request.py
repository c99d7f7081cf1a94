"""The validated search request: every limit is checked however a request is made (the
API, the CLI or a direct call), so a 10,000-word query or a page 100,000 deep costs
nothing to refuse. Backend-neutral, like the query-text helpers below."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import BadRequest
from .understand.suggest import MAX_SUGGESTIONS

MAX_QUERY_CHARS = 500
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
MAX_RESULT_WINDOW = 10_000  # page * per_page: deeper pages are refused, not computed
MAX_FILTER_VALUES = 50
MAX_FILTER_CHARS = 200
GROUPS = ("none", "drug", "auto")

_WORD_RE = re.compile(r"\w+")
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_QUOTED_WORD_RE = re.compile(r'"\s*([^\s"]+?)\s*"')  # a quoted single word
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
# Parentheses alone are not syntax: readers write "tylenol (acetaminophen) dose".
_SYNTAX_RE = re.compile(r'"[^"]*"|(?:^|\s)[-+][\w"(]|\b(?:AND|OR|NOT|ANDNOT)\b')


def has_syntax(text: str) -> bool:
    """Does the text use query syntax (a quoted phrase, operators, a leading minus)?"""
    return _SYNTAX_RE.search(text) is not None



def unquote_words(text: str) -> str:
    """Quotes around a single word dropped (readers paste and dictate questions full of
    them: tramadol "milligrams?", is it safe with "ibuprofen?"); an unmatched quote
    dropped too."""
    text = _QUOTED_WORD_RE.sub(r"\1", text)
    return text.replace('"', " ") if text.count('"') % 2 else text


def plain_words(text: str) -> list[str]:
    """The query's words without syntax: what a query the parser cannot handle becomes."""
    return [w for w in _WORD_RE.findall(text) if w.upper() not in _OPERATORS]



@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    drug: tuple[str, ...] = ()
    indication: tuple[str, ...] = ()
    section: tuple[str, ...] = ()
    drug_class: tuple[str, ...] = ()
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    group: str = "none"  # "drug": one result per drug; "auto": drug unless a drug is named
    literal: bool = False  # search the words as typed: no rewrites

    def __post_init__(self) -> None:
        """The limits hold however a request is made (API, CLI or a direct call), so a
        10,000-word query or a page 100,000 deep costs nothing to refuse."""
        if len(self.q) > MAX_QUERY_CHARS:
            raise BadRequest(f"q is longer than {MAX_QUERY_CHARS} characters")
        if not 1 <= self.page <= MAX_RESULT_WINDOW:
            raise BadRequest(f"page must be between 1 and {MAX_RESULT_WINDOW}")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise BadRequest(f"per_page must be between 1 and {MAX_PER_PAGE}")
        if self.page * self.per_page > MAX_RESULT_WINDOW:
            raise BadRequest(f"page * per_page must not exceed {MAX_RESULT_WINDOW}")
        if self.group not in GROUPS:
            raise BadRequest(f"group must be one of: {', '.join(GROUPS)}")
        for name, values in self.filters.items():
            _check_filter(values, "drug_class" if name == "class" else name)

    @property
    def filters(self) -> dict[str, tuple[str, ...]]:
        """Facet name -> selected values (the class facet's parameter is drug_class)."""
        return {"drug": self.drug, "indication": self.indication, "section": self.section,
                "class": self.drug_class}

    @classmethod
    def from_params(cls, get: Callable[[str], str | None],
                    get_list: Callable[[str], Sequence[str]],
                    default_group: str = "none") -> SearchRequest:
        """Validate raw parameters (strings); raises BadRequest with a plain message."""
        q = (get("q") or "").strip()
        page = _integer(get("page"), "page", 1, 1, MAX_RESULT_WINDOW)
        per_page = _integer(get("per_page"), "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        filters = {name: _filter_values(get_list(name))
                   for name in ("drug", "indication", "section", "drug_class")}
        group = (get("group") or default_group).strip().lower()
        literal = _flag(get("literal"), "literal")
        return cls(q=q, page=page, per_page=per_page, group=group, literal=literal, **filters)


def _flag(raw: str | None, name: str) -> bool:
    value = (raw or "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise BadRequest(f"{name} must be 1 or 0")


def _integer(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    # ASCII digits only: int() also takes "1_0" and other scripts' digits ("٣").
    if not _INTEGER_RE.fullmatch(raw.strip()):
        raise BadRequest(f"{name} must be an integer")
    digits = raw.strip().lstrip("+-").lstrip("0")
    value = int(raw.strip()) if len(digits) <= 18 else high + 1  # never int() 5,000 digits
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def _filter_values(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _check_filter(values: Sequence[str], name: str) -> None:
    if len(values) > MAX_FILTER_VALUES:
        raise BadRequest(f"at most {MAX_FILTER_VALUES} {name} values")
    if any(len(v) > MAX_FILTER_CHARS for v in values):
        raise BadRequest(f"a {name} value is longer than {MAX_FILTER_CHARS} characters")


MAX_SUGGEST_CHARS = 100
DEFAULT_SUGGESTIONS = 8


@dataclass(frozen=True)
class SuggestRequest:
    """What was typed so far, and how many names to suggest."""

    q: str = ""
    limit: int = DEFAULT_SUGGESTIONS

    def __post_init__(self) -> None:
        if len(self.q) > MAX_SUGGEST_CHARS:
            raise BadRequest(f"q is longer than {MAX_SUGGEST_CHARS} characters")
        if not 1 <= self.limit <= MAX_SUGGESTIONS:
            raise BadRequest(f"limit must be an integer between 1 and {MAX_SUGGESTIONS}")

    @classmethod
    def from_params(cls, get: Callable[[str], str | None]) -> SuggestRequest:
        """Validate raw parameters (strings); raises BadRequest with a plain message."""
        limit = _integer(get("limit"), "limit", DEFAULT_SUGGESTIONS, 1, MAX_SUGGESTIONS)
        return cls(q=get("q") or "", limit=limit)
