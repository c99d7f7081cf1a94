"""Typesense backend: the same API body as the Whoosh backend, answered by a Typesense
server (or cluster), so the search can outgrow one machine.

Typesense 0.24 does not stem, so every searchable field holds Porter stems with stop
words dropped (search.typesense.analysis) and queries are analyzed the same way.
Display text is stored unindexed beside them. A collection is one generation; an alias
names the live one and ``sync_typesense`` builds a new collection before moving it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from functools import cached_property, partial

from cachetools import LRUCache

from .. import response
from ..corpus.vocabulary import Vocabulary, default_vocabulary
from ..errors import EngineUnavailable, IndexNotBuilt
from ..highlight import highlight_snippet, leading_snippet, stemmed_words
from ..request import SearchRequest, has_syntax, plain_words, unquote_words
from ..response import (
    FACET_FIELDS,
    FACET_LIMIT,
    GROUP_SECTIONS,
    buckets_from_counts,
    drug_group,
    effective_group,
    monograph_body,
    search_body,
    suggest_body,
)
from ..understand.lexicon import Lexicon
from ..understand.suggest import Suggester, zero_result_suggestions
from ..understand.understanding import QueryPlan, understand
from .analysis import analyzed, stem_word
from .client import TypesenseClient, TypesenseError
from .ranking import Pins, any_of, count_search, named_products, pin_question, wanted_sections
from .sync import DEFAULT_COLLECTION, LITERAL_FIELDS, QUERY_FIELDS, current_collection

ALIAS_CHECK_SECONDS = 1.0  # how stale the alias -> collection lookup may be
# Values asked of Typesense per facet: the 100 shown (response.FACET_LIMIT). Each value
# returned costs Typesense 0.24 about 50 us (it reads a document to name the value):
# all 10,000 drugs of a large corpus made a search 200+ ms, 250 values 33 ms, 100
# values 19 ms. Typesense picks the values by count alone, so where values tie at the
# count of the 100th bucket, the ones shown may be other ties than Whoosh shows (which
# takes them by label). A selected value beyond them is counted on its own.
MAX_FACET_VALUES = FACET_LIMIT
WORD_CACHE_SIZE = 50_000  # document counts of words kept per process
NAMED_SECTIONS_CACHE = 2_000  # named products' sections kept (a few KB each)
NOTHING = "position:<0"  # a filter no document passes (only unknown values selected)


# -- one generation -----------------------------------------------------------------------
@dataclass
class Generation:
    """What one collection needs to answer queries, built once per collection."""

    name: str
    monographs: dict[str, dict]  # slug -> title, brands, indications, drug_class
    heads: dict[str, dict]  # slug -> the monograph dict stored on its first section
    lexicon: Lexicon
    labels: dict[str, dict[str, str]]  # facet -> value -> label
    sections: int

    def title(self, slug: str) -> str:  # engine.zero_result_suggestions reads these
        return self.monographs.get(slug, {}).get("title", slug)

    @cached_property
    def suggester(self) -> Suggester:
        return Suggester(self.monographs, self.lexicon)


def load_generation(client: TypesenseClient, name: str, vocabulary: Vocabulary) -> Generation:
    exported = client.request("GET", f"/collections/{name}/documents/export",
                              params={"filter_by": "position:=0",
                                      "include_fields": "drug,entry,monograph"}, raw=True)
    monographs, heads = {}, {}
    for line in exported.splitlines():
        doc = json.loads(line)
        monographs[doc["drug"]] = doc["entry"]
        heads[doc["drug"]] = doc.get("monograph", {})
    labels = response.facet_labels(monographs)
    info = client.request("GET", f"/collections/{name}")
    return Generation(name=name, monographs=monographs, heads=heads,
                      lexicon=Lexicon(monographs, vocabulary), labels=labels,
                      sections=int(info["num_documents"]))


# -- search ---------------------------------------------------------------------------------
@dataclass
class Reading:
    """How a request is asked of Typesense."""

    q: str  # analyzed words, or "*" to browse
    exact: bool  # literal words: no typos, no prefixes, every word required
    base_filter: str = ""  # from the query itself (sections a question asks for)
    plan: QueryPlan | None = None


def read_request(request: SearchRequest, generation: Generation, is_word) -> Reading:
    """Literal or syntax queries: the words (a leading minus excludes); otherwise our
    query understanding rewrites brands, misspelt drugs, lay terms and classes. A word
    in quotes is no syntax (search.request.unquote_words)."""
    if not request.q:
        return Reading("*", True)
    text = unquote_words(request.q)
    if request.literal or has_syntax(text):
        return Reading(_literal_q(text), True)
    return understood(text, generation, is_word)


def understood(text: str, generation: Generation, is_word) -> Reading:
    plan = understand(text, generation.lexicon, is_word)
    if not plan.content and not plan.recognized:
        sections = wanted_sections(plan)
        return Reading("*", True, any_of("section", sections) if sections else "", plan)
    # Each named thing by its generic name or label (the last alternative), the other
    # words, and words that say which section is wanted ("dose" is a dosage keyword).
    words = [alternatives[-1] for alternatives in plan.texts]
    words += plan.words + plan.ranking_words
    q = " ".join(dict.fromkeys(analyzed(" ".join(words)).split()))
    return Reading(q or "*", not q, "", plan)


def _literal_q(text: str) -> str:
    words = []
    for raw in text.replace('"', " ").split():
        excluded = raw.startswith("-") and len(raw) > 1
        stems = analyzed(raw).split()
        if raw.upper() in ("AND", "OR", "NOT", "ANDNOT") or not stems:
            continue
        words += [f"-{stem}" if excluded else stem for stem in stems]
    if not any(not word.startswith("-") for word in words) or not plain_words(text):
        return "*"  # only exclusions or no words at all: browse
    return " ".join(dict.fromkeys(words))


def facet_filter(name: str, values: tuple[str, ...], labels: dict) -> str | None:
    """filter_by for one facet's selection; values the index lacks match nothing."""
    if not values:
        return None
    known = [v for v in values if v in labels[name]]
    if not known:
        return NOTHING
    return any_of(FACET_FIELDS[name], known)


def _joined(*parts: str | None) -> str:
    return " && ".join(p for p in parts if p)


def match_params(reading: Reading, relaxed: bool) -> dict:
    """q and how it matches: literal words exactly, understood ones with typos; a
    relaxed search may drop words."""
    if reading.exact:
        return {"q": reading.q, "num_typos": 0, "prefix": "false",
                "drop_tokens_threshold": 0, "typo_tokens_threshold": 0}
    return {"q": reading.q, "drop_tokens_threshold": 1 if relaxed else 0,
            "typo_tokens_threshold": 1}


def facet_filters(request: SearchRequest, generation: Generation) -> dict[str, str | None]:
    return {name: facet_filter(name, values, generation.labels)
            for name, values in request.filters.items()}


@dataclass
class Asked:
    """The searches of one request: ``searches[0]`` ranks the page; ``searches[total]``
    counts everything with every filter, and the facets without a selection (a flat
    page counts them itself, a grouped page's ``found`` counts drugs); each facet with
    a selection is counted again without its own filter (multi-select). Each one has
    the pinned hits."""

    searches: list[dict]
    counted: list[str]  # facets counted by searches[total]
    total: int  # 0 or 1

    def facets(self, results: list[dict]) -> list[dict]:
        return results[self.total:]


def build_searches(reading: Reading, request: SearchRequest, generation: Generation,
                   group: str, relaxed: bool, pins: Pins) -> Asked:
    filters = facet_filters(request, generation)
    fields = {name: weight for name, weight in QUERY_FIELDS.items()
              if not reading.exact or name in LITERAL_FIELDS}
    common = {"collection": generation.name, **match_params(reading, relaxed),
              "query_by": ",".join(fields),
              "query_by_weights": ",".join(str(w) for w in fields.values()),
              "max_facet_values": MAX_FACET_VALUES, **pins.param}
    everything = _joined(reading.base_filter, *filters.values())
    page = {**common, "filter_by": everything, "page": request.page,
            "per_page": request.per_page, "highlight_fields": "t_body",
            "exclude_fields": ",".join(QUERY_FIELDS) + ",markdown,monograph,entry",
            "sort_by": ("drug:asc,position:asc" if reading.q == "*"
                        else "_text_match:desc,drug:asc,position:asc")}
    counted = [name for name, selected in filters.items() if selected is None]
    facet_by = ",".join(FACET_FIELDS[n] for n in counted)
    if group == "drug":
        page.update(group_by="drug", group_limit=GROUP_SECTIONS)
        searches = [page, {**common, "filter_by": everything, "per_page": 0,
                           "facet_by": facet_by}]
    else:
        searches = [{**page, "facet_by": facet_by}]
    for name, own in filters.items():
        if own is not None:
            others = [f for other, f in filters.items() if other != name]
            searches.append({**common, "per_page": 0, "facet_by": FACET_FIELDS[name],
                             "filter_by": _joined(reading.base_filter, *others)})
    for search in searches:
        if not search["filter_by"]:
            del search["filter_by"]
        if search.get("facet_by") == "":
            del search["facet_by"]
    return Asked(searches, counted, 1 if group == "drug" else 0)


def facet_counts(results: list[dict]) -> dict[str, dict[str, int]]:
    """facet -> value -> count, from the searches that count facets."""
    counts: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
    fields = {field_name: name for name, field_name in FACET_FIELDS.items()}
    for result in results:
        for facet in result.get("facet_counts", []):
            name = fields[facet["field_name"]]
            counts[name] = {c["value"]: c["count"] for c in facet["counts"]}
    return counts


def format_hit(hit: dict, generation: Generation, words: frozenset[str] = frozenset()
               ) -> dict:
    """A result as the API shows it; ``words`` (the query's stems) are marked where
    Typesense gave no highlights (a pinned hit)."""
    doc = hit["document"]
    stems = frozenset(token for part in hit.get("highlights", [])
                      if part.get("field") == "t_body" for token in part["matched_tokens"])
    if "text_match" not in hit:
        stems = words
    snippet = highlight_snippet(doc["body"], stems, stemmed_words(doc["body"], stem_word)) \
        if stems else ""
    return response.result(id=doc["id"], drug=doc["drug"], drug_name=generation.title(doc["drug"]),
                  section=doc["section"], heading=doc["heading"],
                  indications=doc["indications"], score=hit.get("text_match"),
                  snippet=snippet or leading_snippet(doc["body"]), anchor=doc["anchor"])


def format_group(group: dict, generation: Generation, words: frozenset[str] = frozenset()
                 ) -> dict:
    return drug_group([format_hit(hit, generation, words) for hit in group["hits"]])


# -- backend ------------------------------------------------------------------------------
class TypesenseBackend:
    """Answers searches from the collection the alias names; follows the alias when a
    sync moves it (checked at most every ALIAS_CHECK_SECONDS)."""

    def __init__(self, url: str, api_key: str, collection: str = DEFAULT_COLLECTION,
                 vocabulary: Vocabulary | None = None):
        self.client = TypesenseClient(url, api_key)
        self.alias = collection
        self.vocabulary = vocabulary or default_vocabulary()
        self._generation: Generation | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        # collection -> words (stems, space-separated) -> sections holding them all:
        # whether a word is in the index, and the IDF of a pinned section's words
        self._counts: dict[str, dict[str, int]] = {}
        # (collection, named products) -> their sections, for ordering pinned hits
        self._named_sections: LRUCache[tuple, list[dict]] = LRUCache(NAMED_SECTIONS_CACHE)
        self._cache_lock = threading.Lock()  # cachetools is not thread-safe

    def _current(self, force: bool = False) -> Generation:
        now = time.monotonic()
        if not force and self._generation is not None and now - self._checked < \
                ALIAS_CHECK_SECONDS:
            return self._generation
        with self._lock:
            name = current_collection(self.client, self.alias)
            if name is None:
                raise IndexNotBuilt(f"no typesense collection behind alias {self.alias!r}; "
                                    "run `monosearch typesense-sync`")
            if self._generation is None or self._generation.name != name:
                self._generation = load_generation(self.client, name, self.vocabulary)
            self._checked = now
            return self._generation

    def _multi_search(self, searches: list[dict]) -> list[dict]:
        answer = self.client.request("POST", "/multi_search", body={"searches": searches})
        for result in answer["results"]:
            if "error" in result:
                code = result.get("code", 500)
                if code >= 500:  # the node cannot answer now (not ready, no quorum)
                    raise EngineUnavailable(f"typesense {code}: {result['error']}")
                raise TypesenseError(code, result["error"])
        return answer["results"]

    def _is_word(self, generation: Generation, word: str) -> bool:
        """Does any section contain the word? (decides whether to spell-correct it)"""
        stems = " ".join(analyzed(word).split())
        if len(word) < 3 or not stems:
            return True
        known = self._known_counts(generation)
        if stems not in known:
            known[stems] = self._multi_search([count_search(
                generation.name, stems, ",".join(QUERY_FIELDS))])[0]["found"]
        return known[stems] > 0

    def _known_counts(self, generation: Generation) -> dict[str, int]:
        """The generation's document counts, as far as asked; older generations' are
        dropped, and the whole is bounded (a miss costs one small search)."""
        known = self._counts.get(generation.name)
        if known is None or len(known) >= WORD_CACHE_SIZE:
            known = {}
            self._counts = {generation.name: known}
        return known

    def health(self) -> dict:
        generation = self._current(force=True)
        return {"status": "ok", "generation": generation.name,
                "documents": generation.sections, "monographs": len(generation.monographs),
                "backend": "typesense"}

    def search(self, request: SearchRequest, use_cache: bool = True) -> dict:
        """The response body (no result cache: Typesense has its own)."""
        started = time.perf_counter()
        try:
            body = self._search(self._current(), request)
        except TypesenseError as err:
            if err.status != 404:
                raise
            body = self._search(self._current(force=True), request)  # alias moved
        body["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return body

    def _search(self, generation: Generation, request: SearchRequest) -> dict:
        is_word = partial(self._is_word, generation)
        reading = read_request(request, generation, is_word)
        notes: list[dict] = []
        asked, results, group, pins = self._run(reading, request, generation)
        plain = " ".join(plain_words(request.q))
        if results[asked.total]["found"] == 0 and reading.plan is None \
                and not request.literal and plain:
            # Syntax that finds nothing: the understood reading of its plain words.
            reading = understood(plain, generation, is_word)
            asked, results, group, pins = self._run(reading, request, generation)
            notes.append({"kind": "fallback", "from": request.q, "to": plain})
        plan = reading.plan
        relaxed = False
        if results[asked.total]["found"] == 0 and not reading.exact \
                and len(reading.q.split()) > 1:
            asked = build_searches(reading, request, generation, group, True, pins)
            results = self._multi_search(asked.searches)
            relaxed = results[asked.total]["found"] > 0
        page = results[0]
        words = frozenset(reading.q.split())  # pinned hits have no highlights of their own
        if group == "drug":
            hits = [format_group(g, generation, words) for g in page.get("grouped_hits", [])]
            total_groups = page["found"]
        else:
            hits = [format_hit(hit, generation, words) for hit in page["hits"]]
            total_groups = None
        total = results[asked.total]["found"]
        counts = facet_counts(asked.facets(results))
        self._count_selected(counts, asked, request, generation)
        suggestions = zero_result_suggestions(generation.lexicon, generation.title, request.q,
                                              None) if total == 0 and request.q else []
        # Typesense pages through every matching section (no per-drug cap): listed = total.
        return search_body(
            request, results=hits, total=total,
            facets={name: buckets_from_counts(counts[name], generation.labels[name],
                                              request.filters[name])
                    for name in FACET_FIELDS},
            group=group, total_groups=total_groups, listed=total, more={},
            interpretation=(plan.interpretation if plan else []) + notes, relaxed=relaxed,
            corrected=None, suggestions=suggestions, generation=generation.name)

    def _run(self, reading: Reading, request: SearchRequest, generation: Generation
             ) -> tuple[Asked, list[dict], str, Pins]:
        """(searches, their results, group mode, pins) for a reading."""
        group = effective_group(request, bool(reading.plan and reading.plan.drugs))
        pins = self._pins(reading, request, generation)
        asked = build_searches(reading, request, generation, group, False, pins)
        return asked, self._multi_search(asked.searches), group, pins

    def _count_selected(self, counts: dict[str, dict[str, int]], asked: Asked,
                        request: SearchRequest, generation: Generation) -> None:
        """A selected value beyond the MAX_FACET_VALUES returned is still listed with
        its count: counted here, one search each (with every filter but its facet's)."""
        missing = [(name, value) for name, values in request.filters.items()
                   for value in values
                   if value in generation.labels[name] and value not in counts[name]
                   and len(counts[name]) >= MAX_FACET_VALUES]
        if not missing:
            return
        # Each selected facet is counted by a search of its own (build_searches).
        own = {search["facet_by"]: search for search in asked.searches[asked.total + 1:]}
        searches = []
        for name, value in missing:
            search = own[FACET_FIELDS[name]]
            searches.append({key: search[key] for key in search if key not in (
                "facet_by", "max_facet_values")} | {"filter_by": _joined(
                    search.get("filter_by"), any_of(FACET_FIELDS[name], [value]))})
        for (name, value), found in zip(missing, self._multi_search(searches), strict=True):
            counts[name][value] = found["found"]

    def _pins(self, reading: Reading, request: SearchRequest, generation: Generation
              ) -> Pins:
        """The hits to pin (search.typesense.ranking), from at most one multi_search."""
        known = self._known_counts(generation)
        named = (generation.name, tuple(sorted(named_products(reading.plan))))
        with self._cache_lock:
            sections = self._named_sections.get(named)
        filtered = any(request.filters.values())  # pinned sections may be filtered out
        question = pin_question(reading.plan, reading.q, request.page * request.per_page,
                                known, None if sections is None else
                                0 if filtered else len(sections))
        if question is None:
            return Pins()
        everything = _joined(reading.base_filter,
                             *facet_filters(request, generation).values())
        searches = question.searches(generation.name, ",".join(QUERY_FIELDS),
                                     match_params(reading, False), everything)
        results = self._multi_search(searches) if searches else []
        if sections is None:
            sections = question.sections(results)
            with self._cache_lock:
                self._named_sections[named] = sections
        known.update(question.new_frequencies(results))
        return question.pins(results, sections, known, generation.sections)

    def suggest(self, text: str, limit: int = 10) -> dict:
        started = time.perf_counter()
        items = self._current().suggester.suggest(text, limit)
        return suggest_body(text, items, (time.perf_counter() - started) * 1000)

    def monograph(self, slug: str) -> dict | None:
        generation = self._current()
        entry = generation.monographs.get(slug)
        if entry is None:
            return None
        found = self._multi_search([{
            "collection": generation.name, "q": "*", "query_by": "t_body",
            "filter_by": any_of("drug", [slug]), "sort_by": "position:asc", "per_page": 250,
            "exclude_fields": ",".join(QUERY_FIELDS)}])[0]
        documents = [hit["document"] for hit in found["hits"]]
        return monograph_body(slug, entry["title"], generation.heads.get(slug, {}),
                              entry["indications"], documents)

    def close(self) -> None:
        self.client.close()
