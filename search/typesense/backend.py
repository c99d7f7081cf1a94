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
from functools import cached_property

from .. import response
from ..corpus.sections import SECTION_TYPES
from ..corpus.vocabulary import Vocabulary, default_vocabulary
from ..errors import EngineUnavailable, IndexNotBuilt
from ..highlight import highlight_snippet, leading_snippet, stemmed_words
from ..request import SearchRequest, has_syntax, plain_words
from ..response import (
    FACET_FIELDS,
    GROUP_SECTIONS,
    buckets_from_counts,
    drug_group,
    effective_group,
    monograph_body,
    search_body,
    suggest_body,
)
from ..understand.lexicon import NAMED, PRIMARY, Lexicon
from ..understand.suggest import Suggester, zero_result_suggestions
from ..understand.understanding import QueryPlan, understand
from .analysis import analyzed, stem_word
from .client import TypesenseClient, TypesenseError
from .sync import DEFAULT_COLLECTION, QUERY_FIELDS, current_collection

ALIAS_CHECK_SECONDS = 1.0  # how stale the alias -> collection lookup may be
# Values asked of Typesense per facet; we sort them by count then label and show 100.
# All 10,000 drugs of a large corpus made a search 200+ ms (36 ms with 250). Typesense
# picks which values to return by count alone, so where more than 250 values tie at
# the count of the 100th bucket, the 100 shown may be other ties than Whoosh shows.
MAX_FACET_VALUES = 250
WORD_CACHE_SIZE = 50_000  # "is this word in the index" answers kept per process
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
        return Suggester(self.monographs, self.lexicon.vocabulary)


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
    query understanding rewrites brands, misspelt drugs, lay terms and classes."""
    if not request.q:
        return Reading("*", True)
    if request.literal or has_syntax(request.q):
        return Reading(_literal_q(request.q), True)
    plan = understand(request.q, generation.lexicon, is_word)
    if not plan.content and not plan.recognized:
        sections = ",".join(f"`{kind}`" for kind in plan.intents if kind in SECTION_TYPES)
        return Reading("*", True, f"section:=[{sections}]" if sections else "", plan)
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
    return f"{FACET_FIELDS[name]}:=[{','.join(f'`{v}`' for v in known)}]"


def _joined(*parts: str | None) -> str:
    return " && ".join(p for p in parts if p)


@dataclass(frozen=True)
class Pins:
    """The embedded backend's named-drug and intent ranking, carried over as a rerank of
    Typesense's first WINDOW hits (Typesense 0.24 has no sort expression for it): the
    monographs of the drugs a question names (their own, not combinations) first, and in
    them the sections it asks for. Pages inside the window are exact; deeper pages keep
    Typesense's order."""

    drugs: frozenset[str] = frozenset()
    wanted: frozenset[str] = frozenset()  # section types the question asks for
    window: int = 0  # hits fetched for the rerank (0: none, the page as asked)

    WINDOW = 250  # Typesense's largest page

    @classmethod
    def of(cls, plan: QueryPlan | None, request: SearchRequest) -> Pins:
        if plan is None or request.page * request.per_page > cls.WINDOW:
            return cls()
        drugs = frozenset(slug for slug, (role, _, _) in plan.roles.items()
                          if role in (NAMED, PRIMARY))
        if not drugs:
            return cls()
        return cls(drugs, frozenset(k for k in plan.intents if k in SECTION_TYPES),
                   cls.WINDOW)

    def __bool__(self) -> bool:
        return bool(self.window)

    def _rank(self, hit: dict) -> int:
        if hit["drug"] not in self.drugs:
            return 2
        return 0 if not self.wanted or hit["section"] in self.wanted else 1

    def sections(self, hits: list[dict]) -> list[dict]:
        """Pinned first; stable, so Typesense's order within a rank (and unchanged with
        no pins: every hit ranks alike)."""
        return sorted(hits, key=self._rank)

    def groups(self, groups: list[dict]) -> list[dict]:
        ranked = [drug_group(self.sections(g["sections"])) if g["drug"] in self.drugs else g
                  for g in groups]
        return sorted(ranked, key=lambda g: g["drug"] not in self.drugs)

    def page(self, hits: list[dict], request: SearchRequest) -> list[dict]:
        """The asked page of a reranked window (the hits as they are without one)."""
        if not self:
            return hits
        start = (request.page - 1) * request.per_page
        return hits[start:start + request.per_page]


def build_searches(reading: Reading, request: SearchRequest, generation: Generation,
                   group: str, relaxed: bool, pins: Pins = Pins()) -> tuple[list[dict], list[str]]:
    """(multi_search searches, facet counted by each search after the first two).
    Search 0 ranks the page, search 1 counts everything with every filter; each facet
    with a selection is counted again without its own filter (multi-select)."""
    filters = {name: facet_filter(name, values, generation.labels)
               for name, values in request.filters.items()}
    common = {"collection": generation.name, "q": reading.q,
              "query_by": ",".join(QUERY_FIELDS),
              "query_by_weights": ",".join(str(w) for w in QUERY_FIELDS.values()),
              "max_facet_values": MAX_FACET_VALUES}
    if reading.exact:
        common.update(num_typos=0, prefix="false", drop_tokens_threshold=0,
                      typo_tokens_threshold=0)
    else:
        common.update(drop_tokens_threshold=1 if relaxed else 0, typo_tokens_threshold=1)
    everything = _joined(reading.base_filter, *filters.values())
    page = {**common, "filter_by": everything,
            "page": 1 if pins else request.page,
            "per_page": pins.window if pins else request.per_page, "highlight_fields": "t_body",
            "exclude_fields": ",".join(QUERY_FIELDS) + ",markdown,monograph,entry",
            "sort_by": ("drug:asc,position:asc" if reading.q == "*"
                        else "_text_match:desc,drug:asc,position:asc")}
    if group == "drug":
        page.update(group_by="drug", group_limit=GROUP_SECTIONS)
    counted = [name for name, selected in filters.items() if selected is None]
    searches = [page, {**common, "filter_by": everything, "per_page": 0,
                       "facet_by": ",".join(FACET_FIELDS[n] for n in counted)}]
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
    return searches, counted


def facet_buckets(results: list[dict], counted: list[str], request: SearchRequest,
                  labels: dict) -> dict[str, list[dict]]:
    """Buckets as search.facets makes them: by count, then label; selected ones listed."""
    counts: dict[str, dict[str, int]] = {name: {} for name in FACET_FIELDS}
    fields = {field_name: name for name, field_name in FACET_FIELDS.items()}
    for result in results:
        for facet in result.get("facet_counts", []):
            name = fields[facet["field_name"]]
            counts[name] = {c["value"]: c["count"] for c in facet["counts"]}
    return {name: buckets_from_counts(counts[name], labels[name], request.filters[name])
            for name in FACET_FIELDS}


def format_hit(hit: dict, generation: Generation) -> dict:
    doc = hit["document"]
    stems = frozenset(token for part in hit.get("highlights", [])
                      if part.get("field") == "t_body" for token in part["matched_tokens"])
    snippet = highlight_snippet(doc["body"], stems, stemmed_words(doc["body"], stem_word)) \
        if stems else ""
    return response.result(id=doc["id"], drug=doc["drug"], drug_name=generation.title(doc["drug"]),
                  section=doc["section"], heading=doc["heading"],
                  indications=doc["indications"], score=hit.get("text_match"),
                  snippet=snippet or leading_snippet(doc["body"]), anchor=doc["anchor"])


def format_group(group: dict, generation: Generation) -> dict:
    return drug_group([format_hit(hit, generation) for hit in group["hits"]])


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
        self._words: dict[tuple[str, str], bool] = {}  # (collection, word) -> in the index

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
        stems = analyzed(word).split()
        if len(word) < 3 or not stems:
            return True
        key = (generation.name, word)
        if key not in self._words:
            found = self._multi_search([{
                "collection": generation.name, "q": " ".join(stems), "per_page": 0,
                "query_by": ",".join(QUERY_FIELDS), "num_typos": 0, "prefix": "false",
                "drop_tokens_threshold": 0}])[0]["found"]
            if len(self._words) >= WORD_CACHE_SIZE:
                self._words.clear()  # bounded; a miss costs one small request
            self._words[key] = found > 0
        return self._words[key]

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
        reading = read_request(request, generation, lambda w: self._is_word(generation, w))
        plan = reading.plan
        group = effective_group(request, bool(plan and plan.drugs))
        pins = Pins.of(plan, request)
        searches, counted = build_searches(reading, request, generation, group, False, pins)
        results = self._multi_search(searches)
        relaxed = False
        if results[1]["found"] == 0 and not reading.exact and len(reading.q.split()) > 1:
            searches, counted = build_searches(reading, request, generation, group, True,
                                               pins)
            results = self._multi_search(searches)
            relaxed = results[1]["found"] > 0
        page = results[0]
        if group == "drug":
            groups = [format_group(g, generation) for g in page.get("grouped_hits", [])]
            hits = pins.page(pins.groups(groups), request)
            total_groups = page["found"]
        else:
            found = [format_hit(hit, generation) for hit in page["hits"]]
            hits = pins.page(pins.sections(found), request)
            total_groups = None
        total = results[1]["found"]
        suggestions = zero_result_suggestions(generation.lexicon, generation.title, request.q,
                                              None) if total == 0 and request.q else []
        # Typesense pages through every matching section (no per-drug cap): listed = total.
        return search_body(
            request, results=hits, total=total,
            facets=facet_buckets(results[1:], counted, request, generation.labels),
            group=group, total_groups=total_groups, listed=total, more={},
            interpretation=plan.interpretation if plan else [], relaxed=relaxed,
            corrected=None, suggestions=suggestions, generation=generation.name)

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
            "filter_by": f"drug:=[`{slug}`]", "sort_by": "position:asc", "per_page": 250,
            "exclude_fields": ",".join(QUERY_FIELDS)}])[0]
        documents = [hit["document"] for hit in found["hits"]]
        return monograph_body(slug, entry["title"], generation.heads.get(slug, {}),
                              entry["indications"], documents)

    def close(self) -> None:
        self.client.close()
