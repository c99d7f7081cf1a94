"""The embedded backend's ranking carried to Typesense as pinned hits.

Whoosh's match for an understood question holds every section of the products it names,
besides the sections holding every word, and adds boosts (search.understand.boosts) to
the words' BM25F scores: the named products' sections first, then the sections of the
type asked for, then the words. Typesense 0.24 has no sort expression for that, but its
``pinned_hits`` add documents to a query's matches, count, facets and groups at the
positions given (``filter_curated_hits`` applies the filters to them; a pinned document
that matches anyway is counted once). So a search pins, in this order:

1. the named products' sections, scored as Whoosh sums them: the product's boost, the
   intent boost for a section asked for, and the query words' BM25F scores, computed
   here from the sections' analyzed fields (with Whoosh's field weights, k1 and b; the
   IDF from Typesense's document counts, the average lengths from these sections);
2. the sections of the type asked for among the other matches, in Typesense's order, as
   many as the page needs (so every page up to the 250th hit is cut from one list);
   not when the question's words say the type ("side effects": Typesense matches them,
   weighted most in a section's keywords), nor behind named sections that fill the
   page (an A/B run in one process on the 6,400 bed: p50 / p95 11.1 / 18.1 ms pinning
   them always, 9.3 / 15.3 ms so; held-out drug hit@10 0.958 -> 0.956);

and Typesense pages through the rest. One extra multi_search, before the page's, fetches
the named products' sections and the matches of the type asked for.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from ..corpus.sections import SECTION_TYPES
from ..understand.boosts import INTENT_BOOST, role_boost
from ..understand.understanding import QueryPlan
from .analysis import analyzed

LIMIT = 250  # hits pinned at most (Typesense's largest page)
# BM25F as the Whoosh backend scores (search.whoosh.schema's field weights, Whoosh's
# default K1 and B), by Typesense field.
FIELD_WEIGHTS = {"t_name": 4.0, "t_heading": 2.0, "t_section": 1.5, "t_body": 1.0}
K1 = 1.2
B = 0.75


def any_of(field: str, values) -> str:
    """filter_by: the field holds one of the values (backquoted, as slugs may hold
    filter syntax characters such as '-')."""
    return f"{field}:=[{','.join(f'`{value}`' for value in values)}]"


def count_search(collection: str, q: str, fields: str) -> dict:
    """A multi_search search whose ``found`` is the number of sections holding every
    word of ``q`` exactly (no typos, no prefixes, no word dropped)."""
    return {"collection": collection, "q": q, "query_by": fields, "num_typos": 0,
            "prefix": "false", "drop_tokens_threshold": 0, "per_page": 0}


@dataclass(frozen=True)
class Pins:
    ids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.ids)

    @property
    def param(self) -> dict:
        """multi_search parameters that pin the hits (none without pins)."""
        if not self.ids:
            return {}
        return {"pinned_hits": ",".join(f"{doc_id}:{n}" for n, doc_id in
                                        enumerate(self.ids, 1)),
                "filter_curated_hits": 1}


def named_products(plan: QueryPlan | None) -> dict[str, float]:
    """slug -> boost of the products a question names (none for literal queries)."""
    if plan is None:
        return {}
    return {slug: role_boost(role, fraction) for slug, (role, fraction, _) in
            plan.roles.items()}


def wanted_sections(plan: QueryPlan | None) -> list[str]:
    return [kind for kind in (plan.intents if plan else []) if kind in SECTION_TYPES]


def rank_words(plan: QueryPlan) -> list[str]:
    """The stems that rank a named product's sections, as Whoosh's ranking part has
    them: the words, the intent words and the words that only rank (strengths, forms)."""
    words = analyzed(" ".join(plan.words + plan.ranking_words + plan.rank_only))
    return list(dict.fromkeys(words.split()))


def name_stems(plan: QueryPlan) -> list[list[list[str]]]:
    """Each named thing's alternatives ("coumadin" or "warfarin") as stems."""
    return [[stems for stems in (analyzed(a).split() for a in alternatives) if stems]
            for alternatives in plan.texts]


@dataclass
class PinQuestion:
    """What decides one request's pins: the searches to ask, then the pins from the
    answers."""

    products: dict[str, float]  # slug -> boost
    wanted: list[str]  # section types asked for
    stems: list[str]  # the words that order the named products' sections
    names: list[list[list[str]]]  # each named thing's alternatives, as stems
    counted: list[str]  # stems whose document count is not known yet
    intent_hits: int  # how many matches of the types asked for to pin
    fetch: bool = True  # the named products' sections are not known yet

    def searches(self, collection: str, fields: str, match: dict, filter_by: str
                 ) -> list[dict]:
        """``match``: the page search's q and typo settings; ``filter_by``: its filter."""
        searches = []
        if self.products and self.fetch:
            searches.append({"collection": collection, "q": "*", "query_by": fields,
                             "filter_by": any_of("drug", self.products), "per_page": LIMIT,
                             "sort_by": "position:asc",
                             "include_fields": ",".join(["id", "drug", "section",
                                                         *FIELD_WEIGHTS])})
        searches += [count_search(collection, stem, fields) for stem in self.counted]
        if self.intent_hits:
            searches.append({**match, "collection": collection, "query_by": fields,
                             "filter_by": " && ".join(
                                 p for p in (filter_by, any_of("section", self.wanted)) if p),
                             "per_page": self.intent_hits, "include_fields": "id",
                             "highlight_fields": "none"})
        return searches

    def sections(self, results: list[dict]) -> list[dict]:
        """The named products' sections (id, drug, section, analyzed fields) fetched."""
        return [hit["document"] for hit in results[0]["hits"]] \
            if self.products and self.fetch else []

    def new_frequencies(self, results: list[dict]) -> dict[str, int]:
        first = 1 if self.products and self.fetch else 0
        answers = results[first:first + len(self.counted)]
        return {stem: found["found"] for stem, found in zip(self.counted, answers,
                                                             strict=True)}

    def pins(self, results: list[dict], sections: list[dict], frequency: Mapping[str, int],
             documents: int) -> Pins:
        """``sections``: the named products' (fetched, or kept from an earlier request);
        ``frequency``: stem -> sections holding it, for every stem (``counted``'s
        answers added, see ``new_frequencies``); ``documents``: sections in all."""
        ids: list[str] = []
        if self.products:
            idf = {stem: 1.0 + math.log(documents / (frequency.get(stem, 0) + 1))
                   for stem in every_stem(self.stems, self.names)}
            scored = []
            for n, (doc, stem_scores) in enumerate(zip(sections, bm25f(sections, idf),
                                                       strict=True)):
                score = self.products[doc["drug"]] + self._words(stem_scores) + \
                    (INTENT_BOOST if doc["section"] in self.wanted else 0.0)
                scored.append((-score, doc["drug"], n, doc["id"]))
            ids = [doc_id for *_, doc_id in sorted(scored)]
        if self.intent_hits:
            chosen = set(ids)
            ids += [doc_id for doc_id in (hit["document"]["id"] for hit in results[-1]["hits"])
                    if doc_id not in chosen]
        return Pins(tuple(ids[:LIMIT]))

    def _words(self, scores: Mapping[str, float]) -> float:
        """The words' part of a section's score, as Whoosh's query adds it up: the
        ranking words each; the names (the best of each one's spellings) only where
        the section holds every word and a spelling of every name, as the text part
        of the match requires."""
        total = sum(scores.get(stem, 0.0) for stem in self.stems)
        names = [max((sum(scores[s] for s in stems) for stems in alternatives
                      if all(s in scores for s in stems)), default=None)
                 for alternatives in self.names if alternatives]
        if all(stem in scores for stem in self.stems) and None not in names:
            total += sum(names)
        return total


def every_stem(stems: list[str], names: list[list[list[str]]]) -> list[str]:
    """The ranking words' stems and every spelling's of every name, each once."""
    return list(dict.fromkeys(stems + [stem for alternatives in names
                                       for spelling in alternatives for stem in spelling]))


def bm25f(sections: list[dict], idf: Mapping[str, float]) -> list[dict[str, float]]:
    """Each section's BM25F score of each stem it holds (Whoosh's formula, summed over
    fields); field lengths are compared with their average over these sections."""
    counts = [{field: Counter(doc.get(field, "").split()) for field in FIELD_WEIGHTS}
              for doc in sections]
    average = {field: (sum(c[field].total() for c in counts) / len(counts) or 1.0)
               if counts else 1.0 for field in FIELD_WEIGHTS}
    scores = []
    for fields in counts:
        found: dict[str, float] = {}
        for field, weight in FIELD_WEIGHTS.items():
            length = fields[field].total()
            for stem, stem_idf in idf.items():
                tf = fields[field][stem] * weight
                if tf:
                    found[stem] = found.get(stem, 0.0) + stem_idf * (tf * (K1 + 1)) / (
                        tf + K1 * ((1 - B) + B * length / average[field]))
        scores.append(found)
    return scores


def pin_question(plan: QueryPlan | None, q: str, stop: int, known: Mapping[str, int],
                 sections: int | None = None) -> PinQuestion | None:
    """What to ask before a page ending at hit ``stop`` (None: nothing to pin).
    ``known``: stem -> document count, as far as known; ``sections``: how many sections
    the named products have that the page may show, when known (None: not fetched)."""
    if plan is None:
        return None
    products = named_products(plan)
    wanted = wanted_sections(plan)
    stems = rank_words(plan) if products else []
    names = name_stems(plan) if products else []
    # The matches of the type asked for are pinned only where Typesense's own order
    # would miss them: not when the question's words say the type (they are matched,
    # and weigh most in a section's keywords), nor behind named sections that fill the
    # page already.
    fills_page = sections is not None and sections >= stop
    intent_hits = min(stop, LIMIT) if wanted and q != "*" and not plan.ranking_words \
        and not fills_page else 0
    if not products and not intent_hits:
        return None
    return PinQuestion(products, wanted, stems, names,
                       [s for s in every_stem(stems, names) if s not in known],
                       intent_hits, sections is None)
