"""A request's words read into Whoosh queries, and the fallbacks that keep a query that
names something from ending with nothing.

The order (literal=1 asks for the exact words and gets no fallback): the query as
written (with syntax, quotes and operators are honoured; without, query understanding
reads it); when that finds nothing and had syntax, the
understood reading of its plain words; when that finds nothing either, any of the words
that occur somewhere, the rarer first (``relaxed``). A drug the query names keeps its
sections even when the other words miss them (the words then only rank; the answer
says so). Zero results come only when no word occurs anywhere. Every fallback taken is
an ``interpretation`` entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from whoosh import query as whoosh_query

from ..request import SearchRequest, has_syntax, plain_words, unquote_words
from ..understand.understanding import QueryPlan, understand
from .query import build_plan_queries, parse_query, relaxed_query
from .schema import SEARCH_FIELDS, body_analyzer
from .snapshot import Snapshot

_ANALYZER = body_analyzer()

Evaluate = Callable[[whoosh_query.Query | None], tuple[np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class Reading:
    """How a request's words are searched."""

    plan: QueryPlan | None  # None: literal or syntax, read by Whoosh's parser
    match: whoosh_query.Query | None  # None: browse
    rank: whoosh_query.Query | None = None  # adds to the score only
    names: whoosh_query.Query | None = None  # the named drugs' part of the match
    words: whoosh_query.Query | None = None  # the other words' part of the match

    @property
    def scoring(self) -> whoosh_query.Query | None:
        if self.match is not None and self.rank is not None:
            return whoosh_query.AndMaybe(self.match, self.rank)
        return self.match


@dataclass
class Outcome:
    reading: Reading
    scoring: whoosh_query.Query | None
    matched: np.ndarray
    scores: np.ndarray | None
    notes: list[dict]  # interpretation entries of the fallbacks taken
    relaxed: bool = False

    @property
    def interpretation(self) -> list[dict]:
        plan = self.reading.plan
        return (plan.interpretation if plan else []) + self.notes


def search_words(snapshot: Snapshot, request: SearchRequest, evaluate: Evaluate) -> Outcome:
    """The reading that finds something, trying the fallbacks in turn."""
    reading = read_request(snapshot, request)
    matched, scores = evaluate(reading.scoring)
    outcome = Outcome(reading, reading.scoring, matched, scores, [])
    if not request.q or request.literal:  # literal=1: the exact words, nothing else
        return outcome
    if matched.any():
        outcome.notes += _missed_words(snapshot, reading)
        return outcome
    plain = " ".join(plain_words(request.q))
    if reading.plan is None and plain:
        understood = snapshot.plans.get((request.q, "plain"),
                                        lambda: read_words(snapshot, plain, False))
        matched, scores = evaluate(understood.scoring)
        if matched.any():
            note = {"kind": "fallback", "from": request.q, "to": plain}
            return Outcome(understood, understood.scoring, matched, scores,
                           [note] + _missed_words(snapshot, understood))
        reading = understood
    plan = reading.plan
    words = (plan.content + plan.words) if plan else [w.lower() for w in plain_words(request.q)]
    loose, used = relaxed_query(words, plan.external if plan else [], snapshot.parser,
                                lambda word: share_of(snapshot, word))
    matched, scores = evaluate(loose)
    if matched.any():
        note = {"kind": "relaxed", "from": request.q, "to": " ".join(used)}
        notes = [] if reading is outcome.reading else [
            {"kind": "fallback", "from": request.q, "to": plain}]
        return Outcome(reading, loose, matched, scores, notes + [note], relaxed=True)
    return outcome


def read_request(snapshot: Snapshot, request: SearchRequest) -> Reading:
    """The reading of a request, kept per generation: a reader clicking through facets
    and pages asks the same words again."""
    if not request.q:
        return Reading(None, None)
    return snapshot.plans.get((request.q, request.literal),
                              lambda: read_words(snapshot, request.q, request.literal))


def read_words(snapshot: Snapshot, text: str, literal: bool) -> Reading:
    text = unquote_words(text)
    if literal or has_syntax(text):
        return Reading(None, parse_query(text, snapshot.parser))
    plan = understand(text, snapshot.lexicon, lambda word: is_index_word(snapshot, word))
    if not plan.content and not plan.recognized:
        # Only question words ("what is the", "how much"): browse, or the sections of
        # the type asked for, rather than nothing.
        sections = [whoosh_query.Term("section", kind) for kind in plan.intents]
        return Reading(plan, whoosh_query.Or(sections) if sections else None)
    built = build_plan_queries(plan, snapshot.parser)
    return Reading(plan, built.match, built.rank, built.names, built.words)


def _missed_words(snapshot: Snapshot, reading: Reading) -> list[dict]:
    """A note when the named drugs' sections hold none of the other words together:
    the drug's sections are shown, and the words only ranked them."""
    if reading.names is None or reading.words is None:
        return []
    names = snapshot.scorer.matches(reading.names)[0]
    words = snapshot.scorer.matches(reading.words)[0]
    if np.intersect1d(names, words, assume_unique=True).size:
        return []
    plan = reading.plan
    return [{"kind": "optional", "from": " ".join(plan.words),
             "to": ", ".join(dict.fromkeys(_generic_names(plan)))}]


def _generic_names(plan: QueryPlan) -> list[str]:
    """The named drugs as the interpretation calls them (their rewrites' targets)."""
    rewritten = [r["to"] for r in plan.interpretation if r["kind"] in ("brand", "synonym",
                                                                        "spelling")]
    return rewritten or [texts[-1] for texts in plan.texts[:1]]


def is_index_word(snapshot: Snapshot, word: str) -> bool:
    return len(word) < 3 or snapshot.doc_frequency("spelling", word) > 0


def share_of(snapshot: Snapshot, word: str) -> float:
    """The largest share of sections holding the word in any searched field (0: the
    word occurs nowhere; 1.0 for a stop word)."""
    stems = [token.text for token in _ANALYZER(word)]
    if not stems or snapshot.facets.size == 0:
        return 1.0
    return max(snapshot.doc_frequency(field, stem) for field in SEARCH_FIELDS
               for stem in stems) / snapshot.facets.size
