"""One search request against one snapshot: read the query, match, count facets, rank,
group, and build the response body shared by the JSON API, the page and the CLI."""

from __future__ import annotations

import numpy as np

from ..corpus.sections import shown_heading
from ..highlight import highlight_snippet, leading_snippet
from ..request import SearchRequest
from ..response import GROUP_SECTIONS, drug_group, effective_group, result, search_body
from ..understand.suggest import zero_result_suggestions
from ..understand.understanding import QueryPlan
from .reading import search_words
from .schema import body_analyzer
from .scoring import top
from .snapshot import Snapshot
from .spelling import suggest_correction

# Drugs for a page of groups are looked for among the best max(GROUP_SCAN x the drugs up
# to the end of the page, GROUP_SCAN_MIN) matches, four times more while too few are found.
GROUP_SCAN = 12
GROUP_SCAN_MIN = 50

_ANALYZER = body_analyzer()


def run_search(snapshot: Snapshot, request: SearchRequest) -> dict:
    """The response body for a request (took_ms is filled in by the caller)."""
    outcome = search_words(snapshot, request, lambda q: _evaluate(snapshot, q))
    plan, scoring, scores = outcome.reading.plan, outcome.scoring, outcome.scores
    selected, facets = snapshot.facets.count(outcome.matched, request.filters)
    total = int(selected.sum())
    group = effective_group(request, bool(plan and plan.drugs))
    terms = _body_terms(scoring) if scoring is not None else None
    total_groups = None
    listed, more = total, {}
    if group == "drug":
        groups, total_groups = _ranked_groups(snapshot, scores, selected, request)
        results = [_group(snapshot, hits, terms) for hits in groups]
    else:
        hits, listed, more = _ranked(snapshot, scores, selected, request,
                                     _own_monographs(snapshot, plan))
        results = [_result(snapshot, docnum, score, terms) for docnum, score in hits]
    corrected = _corrected(snapshot, request, plan)
    suggestions = zero_result_suggestions(snapshot.lexicon, snapshot.title, request.q,
                                          corrected) if total == 0 and request.q else []
    return search_body(request, results=results, total=total, facets=facets, group=group,
                       total_groups=total_groups, listed=listed, more=more,
                       interpretation=outcome.interpretation, relaxed=outcome.relaxed,
                       corrected=corrected, suggestions=suggestions)


def _evaluate(snapshot: Snapshot, scoring) -> tuple[np.ndarray, np.ndarray | None]:
    """(live documents the query matches, their scores; None when browsing)."""
    if scoring is None:
        return snapshot.facets.live.copy(), None
    mask, scores = snapshot.scorer.evaluate(scoring)
    return mask & snapshot.facets.live, scores


def _own_monographs(snapshot: Snapshot, plan: QueryPlan | None) -> np.ndarray:
    """Drug codes of the single-drug monographs the query names ("lasix": Furosemide):
    the reader asked for them, so the flat list shows all their sections."""
    drug = snapshot.facets.facets["drug"]
    codes = [drug.code_of(slug) for slug in (plan.drugs if plan else [])
             if len(snapshot.lexicon.products[slug].ingredients) == 1]
    return np.array([code for code in codes if code is not None], dtype=np.int64)


def _ranked(snapshot: Snapshot, scores: np.ndarray | None, selected: np.ndarray,
            request: SearchRequest, uncapped: np.ndarray
            ) -> tuple[list[tuple[int, float | None]], int, dict[str, int]]:
    """(the page's sections, how many sections the flat list pages through, slug ->
    sections left out for each drug on the page). Each drug shows its best
    GROUP_SECTIONS sections at most, so that no drug (a combination repeating its
    headings per ingredient) fills the page; the rest are "more from this drug". The
    single-drug monographs the query names (``uncapped`` drug codes) show all theirs.
    Browsing, a search filtered to one drug, or one matching one drug only, lists
    everything."""
    start = (request.page - 1) * request.per_page
    stop = start + request.per_page
    per_drug = np.bincount(snapshot.drug_of[selected & (snapshot.drug_of >= 0)],
                           minlength=len(snapshot.facets.facets["drug"].values))
    collapse = scores is not None and len(request.drug) != 1 and \
        np.count_nonzero(per_drug) > 1
    cap = np.full(per_drug.size, GROUP_SECTIONS, dtype=np.int64)
    cap[uncapped] = np.iinfo(np.int64).max
    listed = int(np.minimum(per_drug, cap).sum()) if collapse else int(selected.sum())
    if start >= listed:
        return [], listed, {}
    if scores is None:
        order = snapshot.browse_order[selected[snapshot.browse_order]]
    else:
        order = _best_first(scores, selected, stop, cap if collapse else None,
                            snapshot.drug_of)
    if collapse:
        order = order[_first_of_each_drug(snapshot.drug_of[order], cap)]
    page = order[start:stop]
    hits = [(int(d), None if scores is None else float(scores[d])) for d in page]
    more = {}
    if collapse:
        for code in dict.fromkeys(snapshot.drug_of[page].tolist()):
            if per_drug[code] > cap[code]:
                more[snapshot.facets.facets["drug"].values[code]] = \
                    int(per_drug[code] - cap[code])
    return hits, listed, more


def _best_first(scores: np.ndarray, selected: np.ndarray, stop: int,
                cap: np.ndarray | None, drug_of: np.ndarray) -> np.ndarray:
    """Selected docnums best first (as top() orders them), enough of them to fill the
    page once each drug's sections beyond its ``cap`` are left out."""
    total = int(selected.sum())
    limit = stop * (GROUP_SCAN if cap is not None else 1)
    while True:
        order = np.array([docnum for docnum, _ in top(scores, selected, limit)],
                         dtype=np.int64)
        if cap is None or limit >= total or \
                _first_of_each_drug(drug_of[order], cap).sum() >= stop:
            return order
        limit *= 4


def _first_of_each_drug(owners: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Mask of the positions holding one of the first cap[drug] sections of their drug."""
    if owners.size == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(owners, kind="stable")
    sorted_owners = owners[order]
    starts = np.flatnonzero(np.r_[True, sorted_owners[1:] != sorted_owners[:-1]])
    rank_sorted = np.arange(owners.size) - np.repeat(starts, np.diff(np.r_[starts,
                                                                           owners.size]))
    rank = np.empty(owners.size, dtype=np.int64)
    rank[order] = rank_sorted
    return rank < cap[owners]


def _ranked_groups(snapshot: Snapshot, scores: np.ndarray | None, selected: np.ndarray,
                   request: SearchRequest) -> tuple[list[list[tuple[int, float | None]]], int]:
    """Page of drug groups (best sections first) and the number of groups in all."""
    drugs = snapshot.drug_of[selected]
    total_groups = int(np.unique(drugs[drugs >= 0]).size)
    start = (request.page - 1) * request.per_page
    stop = start + request.per_page
    if start >= total_groups:
        return [], total_groups
    groups: dict[int, list[tuple[int, float | None]]] = {}
    if scores is None:
        for docnum in snapshot.browse_order[selected[snapshot.browse_order]]:
            hits = groups.setdefault(int(snapshot.drug_of[docnum]), [])
            if len(hits) < GROUP_SECTIONS:
                hits.append((int(docnum), None))
        return list(groups.values())[start:stop], total_groups
    # Which drugs fill the page: the order of each drug's best section, found in the
    # best few hundred sections (sorting every match cost 1-5 ms at 70k sections).
    total = int(selected.sum())
    limit = max(stop * GROUP_SCAN, GROUP_SCAN_MIN)
    while True:
        best = np.array([docnum for docnum, _ in top(scores, selected, limit)])
        owners = snapshot.drug_of[best]
        _, first = np.unique(owners, return_index=True)
        order = owners[np.sort(first)]
        if order.size >= stop or limit >= total:
            break
        limit *= 4
    # Then every matching section of those drugs, ranked, so each shows its best ones.
    page_drugs = order[start:stop]
    members = np.isin(snapshot.drug_of, page_drugs) & selected
    groups = {int(code): [] for code in page_drugs}
    for docnum, score in top(scores, members, int(members.sum())):
        hits = groups[int(snapshot.drug_of[docnum])]
        if len(hits) < GROUP_SECTIONS:
            hits.append((docnum, score))
    return list(groups.values()), total_groups


def _result(snapshot: Snapshot, docnum: int, score: float | None, terms) -> dict:
    stored = snapshot.searcher.stored_fields(docnum)
    snippet = highlight_snippet(stored["body"], terms, snapshot.words(docnum, stored["body"])) \
        if terms else ""
    return result(id=stored["id"], drug=stored["drug"], drug_name=snapshot.title(stored["drug"]),
                  section=stored["section"], heading=shown_heading(stored),
                  indications=[v for v in stored.get("indications", "").split(",") if v],
                  score=score, snippet=snippet or leading_snippet(stored["body"]),
                  anchor=stored["anchor"])


def _group(snapshot: Snapshot, hits: list[tuple[int, float | None]], terms) -> dict:
    return drug_group([_result(snapshot, docnum, score, terms) for docnum, score in hits])


def _body_terms(scoring) -> frozenset[str]:
    """Analyzed words the query looks for in the body, for highlighting."""
    return frozenset(text.decode("utf-8") if isinstance(text, bytes) else text
                     for field, text in scoring.all_terms(phrases=True) if field == "body")


def _corrected(snapshot: Snapshot, request: SearchRequest, plan: QueryPlan | None
               ) -> str | None:
    if not request.q:
        return None
    handled = {r["from"] for r in plan.interpretation} if plan else set()
    return suggest_correction(request.q, snapshot.doc_frequency, _ANALYZER,
                              snapshot.spelling, skip=handled)
