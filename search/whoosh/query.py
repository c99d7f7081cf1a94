"""User query text and a query plan -> Whoosh queries (the request itself is
validated in search.request)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from whoosh import qparser, query
from whoosh.qparser import plugins

from ..request import plain_words
from ..understand.boosts import (
    CLASS_BOOST,
    CONDITION_BOOST,
    INGREDIENT_BOOST,
    INTENT_BOOST,
    RELATED_CONDITION_BOOST,
    role_boost,
)
from .schema import SEARCH_FIELDS, body_analyzer

WORD_QUERY_CACHE = 20_000  # word queries kept per process
_WORD_ANALYZER = body_analyzer()  # every searched field's analyzer

# A minus that starts a word excludes it; one inside a word ("covid-19") does not.
_MINUS_RE = re.compile(r"(?:(?<=\s)|^)-+(?=[\w\"(])")


def build_parser(schema) -> qparser.QueryParser:
    """Words AND together over name, heading and body; "phrases", OR and NOT work (a
    leading minus becomes NOT in parse_query). Field, wildcard, range, boost and
    single-quote syntax are off: readers type "crohn's" and "what dose?" and mean words."""
    parser = qparser.MultifieldParser(list(SEARCH_FIELDS), schema, group=qparser.AndGroup)
    for plugin in (plugins.FieldsPlugin, plugins.WildcardPlugin, plugins.RangePlugin,
                   plugins.BoostPlugin, plugins.SingleQuotePlugin, plugins.EveryPlugin):
        parser.remove_plugin_class(plugin)
    return parser


def parse_query(text: str, parser: qparser.QueryParser) -> query.Query:
    """A Whoosh query for the user's text; never raises for odd syntax."""
    if text.count('"') % 2:
        text = text.replace('"', " ")  # a stray quote would swallow the rest as a phrase
    text = _MINUS_RE.sub("NOT ", text)
    try:
        parsed = parser.parse(text)
    except Exception:  # noqa: BLE001 - any parser failure falls back to plain words
        parsed = None
    if parsed is None or parsed is query.NullQuery:  # failed, or lost every word
        words = plain_words(text)
        parsed = parser.parse(" ".join(words)) if words else query.NullQuery
    return _without_andnot(parsed)


def _without_andnot(q: query.Query) -> query.Query:
    """a ANDNOT b -> a AND NOT b. Whoosh's AndNot matcher lets through documents that
    match both sides when they are Or-queries over several fields (a property test found
    "nausea ANDNOT blood" returning a section with both); And + Not is exact."""
    if isinstance(q, query.AndNot):
        return query.And([_without_andnot(q.a), query.Not(_without_andnot(q.b))])
    return q.apply(_without_andnot)


# -- understood queries ---------------------------------------------------------------
# The boosts (search.understand.boosts) are added to BM25F scores.
COMMON_WORD_SHARE = 0.25  # a relaxed query drops words found in more sections than this
MIN_RELAXED_CHARS = 3  # a relaxed query does not rank by "x" alone

def _unique(items):
    return list(dict.fromkeys(items))


@lru_cache(maxsize=WORD_QUERY_CACHE)
def _word_query(word: str, parser) -> query.Query | None:
    """A word (no spaces, no syntax) over the searched fields: the query Whoosh's
    parser makes of it (tests/test_search.py compares them), built directly, since the
    parser takes ~0.5 ms a word and a long question has a dozen new ones. Kept: the
    queries are never changed once made."""
    # Each stem once: the parser folds "0'0" (two "0" tokens) into one term.
    stems = list(dict.fromkeys(token.text for token in _WORD_ANALYZER(word)))
    if not stems:
        return None
    if len(stems) == 1:
        return query.Or([query.Term(field, stems[0]) for field in SEARCH_FIELDS])
    return query.Or([query.And([query.Term(field, stem) for stem in stems])
                     for field in SEARCH_FIELDS])


def _all_words_query(text: str, parser) -> query.Query | None:
    words = [q for q in (_word_query(w, parser) for w in text.split()) if q]
    return (query.And(words) if len(words) > 1 else words[0]) if words else None


@dataclass(frozen=True)
class PlanQueries:
    match: query.Query  # what matches
    rank: query.Query | None  # what only adds to the score
    names: query.Query | None  # the named drugs' part of match
    words: query.Query | None  # the words' part of match (named things as text, words)


def build_plan_queries(plan, parser) -> PlanQueries:
    """The queries for a plan: a named drug, class or condition brings its sections,
    and so does text holding every part of the query."""
    names = _drug_queries(plan)
    required: list[query.Query] = list(names)
    required += [query.Term("drug_class", slug, boost=CLASS_BOOST) for slug in plan.classes]
    required += [query.Term("indications", slug, boost=CONDITION_BOOST)
                 for slug in plan.conditions]
    required += [query.Term("indications", slug, boost=RELATED_CONDITION_BOOST)
                 for slug in plan.related_conditions]
    # As text, every part of the query must occur: each named thing (in any of its names;
    # they say one thing, so the best counts, not their sum) and every other word. So the
    # match holds all the literal matches, plus the named drugs' own sections.
    content = _unique(plan.words + plan.ranking_words)
    # A name of several words counts as its words anywhere in the section, as a literal
    # search has them: a phrase scores the same sum of its words' scores, and matching
    # it needs every word's positions, which cost milliseconds to read for a common
    # word ("blood" in "high blood pressure").
    parts = []
    for alternatives in plan.texts:
        found = [q for q in (_all_words_query(a, parser) for a in alternatives) if q]
        if found:
            parts.append(query.DisjunctionMax(found) if len(found) > 1 else found[0])
    parts += [q for q in (_word_query(w, parser) for w in content) if q]
    text = (query.And(parts) if len(parts) > 1 else parts[0]) if parts else None
    if text is not None:
        required.append(text)
    ranking: list[query.Query] = [query.Term("section", kind, boost=INTENT_BOOST)
                                  for kind in plan.intents]
    # Without a named drug, class or condition every match has all the content words,
    # which score there already; ranking them again would cost a second pass over their
    # postings for nothing. With one, the words rank that entity's sections. Strengths,
    # forms and salts only ever rank.
    required_words = set() if plan.recognized else set(content)
    ranking += [q for q in (_word_query(w, parser)
                            for w in _unique(plan.words + plan.ranking_words + plan.rank_only)
                            if w not in required_words) if q]
    match = query.Or(required) if len(required) > 1 else (required[0] if required
                                                           else query.NullQuery)
    words_part = text if plan.words else None
    return PlanQueries(match, query.Or(ranking) if ranking else None,
                       (query.Or(names) if len(names) > 1 else names[0]) if names else None,
                       words_part)


def _drug_queries(plan) -> list[query.Query]:
    """A named drug finds every product that has it (one term on the ingredients
    field); its own monograph, the product named as a whole, and combinations of the
    drugs named get more (one term each on the drug field, less what the ingredient
    terms already give them, since scores add up)."""
    share = INGREDIENT_BOOST / len(plan.groups) if plan.groups else 0.0
    found = [query.Term("ingredients", ingredient, boost=share)
             for ingredient in sorted({i for ids, _ in plan.groups for i in ids})]
    for slug, (role, fraction, held) in plan.roles.items():
        extra = role_boost(role, fraction) - share * held
        if extra > 0:
            found.append(query.Term("drug", slug, boost=extra))
    return found


def relaxed_query(words: list[str], required_words: list[str], parser, share_of
                  ) -> tuple[query.Query, list[str]]:
    """(query, the words it uses) when no section has every word: any of the words
    that occur somewhere, leaving out very common ones unless all are common, so the
    sections with the rarer words rank first. ``required_words`` (a drug the corpus
    does not have, searched by name) must still all occur, if they occur anywhere.
    NullQuery only when no word occurs at all."""
    present = [w for w in _unique(words) if share_of(w) > 0
               and len(w) >= MIN_RELAXED_CHARS]
    needed = [w for w in _unique(required_words) if w in present]
    if len(needed) < len(_unique(required_words)):
        needed = []  # the name is nowhere: do not let it empty the answer
    optional = [w for w in present if w not in needed]
    rare = [w for w in optional if share_of(w) <= COMMON_WORD_SHARE]
    chosen = rare or optional
    loose = [q for q in (_word_query(w, parser) for w in chosen) if q]
    must = [q for q in (_word_query(w, parser) for w in needed) if q]
    parts = must + ([query.Or(loose) if len(loose) > 1 else loose[0]] if loose else [])
    if not parts:
        return query.NullQuery, []
    return (query.And(parts) if len(parts) > 1 else parts[0]), needed + chosen
