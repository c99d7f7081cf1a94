"""Query understanding on the bundled corpus: every rewrite is visible and undoable."""

import json

import pytest

from search.corpus.parsing import iter_corpus
from search.corpus.vocabulary import DATA_DIR
from search.request import SearchRequest
from tests.conftest import ROOT


def search(backend, q, **kwargs):
    return backend.search(SearchRequest(q=q, **kwargs), use_cache=False)


def matching_ids(backend, q, **kwargs) -> set[str]:
    """Every section a query matches: the flat list shows three of a drug at most, so
    each drug's sections are read with that drug as the only filter."""
    body = search(backend, q, per_page=100, **kwargs)
    found = set()
    for bucket in body["facets"]["drug"]:
        one = search(backend, q, per_page=100, **{**kwargs, "drug": (bucket["value"],)})
        found |= {hit["id"] for hit in one["results"]}
    assert len(found) == body["total"]
    return found


def drugs_in_order(body):
    return list(dict.fromkeys(hit["drug"] for hit in body["results"]))


def corpus_drugs_of_class(label):
    """Independent of the engine: corpus drugs whose front matter or the class file's
    member list puts them in the class."""
    classes = json.loads((DATA_DIR / "drug_classes.json").read_text())["classes"]
    members = {m for c in classes if c["label"] == label for m in c["members"]}
    return {m.slug for m in iter_corpus(ROOT / "corpus")
            if label in m.drug_class or m.title.lower() in members}


@pytest.mark.parametrize("q, drug, typed", [
    ("olumiant", "baricitinib", "olumiant"),
    ("Glucophage side effects", "metformin", "Glucophage"),
    ("tylenol max dose", "acetaminophen", "tylenol"),
    ("paracetamol", "acetaminophen", "paracetamol"),
])
def test_brand_and_international_names_search_the_generic(corpus_backend, q, drug, typed):
    body = search(corpus_backend, q)
    assert body["results"][0]["drug"] == drug
    kinds = {r["kind"] for r in body["interpretation"] if r["from"] == typed}
    assert kinds & {"brand", "synonym"}
    assert {"from": typed, "to": drug} in [
        {"from": r["from"], "to": r["to"]} for r in body["interpretation"]]


@pytest.mark.parametrize("q", ["warfarin", "coumadin", "warfarin alcohol", "hair loss",
                               "statin muscle pain", "metformin side effects", "ra"])
def test_understood_matches_hold_every_literal_match(corpus_backend, q):
    """Understanding adds (the named drug's sections, synonyms) but never drops."""
    literal = matching_ids(corpus_backend, q, literal=True)
    understood = matching_ids(corpus_backend, q)
    assert literal <= understood


def test_literal_undoes_every_rewrite(corpus_backend):
    understood = search(corpus_backend, "olumiant")
    literal = search(corpus_backend, "olumiant", literal=True)
    assert understood["total"] > 0 and understood["interpretation"]
    assert literal["interpretation"] == [] and literal["total"] == 0  # no text says Olumiant


@pytest.mark.parametrize("q, condition, expected_drugs", [
    ("hair loss", "alopecia", {"baricitinib", "finasteride"}),
    ("ra", "rheumatoid arthritis", {"baricitinib", "tofacitinib", "methotrexate"}),
    ("high blood pressure", "hypertension", {"lisinopril", "amlodipine", "losartan"}),
    ("blood clot", "deep vein thrombosis", {"warfarin", "apixaban", "rivaroxaban"}),
])
def test_lay_terms_and_abbreviations_expand(corpus_backend, q, condition, expected_drugs):
    body = search(corpus_backend, q, group="drug", per_page=20)
    assert {"kind": "synonym", "from": q, "to": condition} in body["interpretation"]
    assert expected_drugs <= {group["drug"] for group in body["results"]}


def test_expansion_is_one_way_and_keeps_the_original_words(corpus_backend):
    literal = matching_ids(corpus_backend, '"hair loss"', literal=True)
    understood = matching_ids(corpus_backend, "hair loss")
    assert literal and literal <= understood
    alopecia_only = matching_ids(corpus_backend, "alopecia", literal=True)
    assert alopecia_only <= understood


@pytest.mark.parametrize("typo, drug", [
    ("barcitinib", "baricitinib"), ("metfromin", "metformin"), ("ibuprofin", "ibuprofen"),
    ("zolft", "sertraline"), ("ubuprofen", "ibuprofen"), ("warfrin", "warfarin"),
    ("atorvastatine", "atorvastatin"), ("lipitr", "atorvastatin"), ("sertralin", "sertraline"),
])
def test_misspelt_drug_names_are_corrected(corpus_backend, typo, drug):
    body = search(corpus_backend, f"{typo} side effects")
    assert body["results"][0]["id"].startswith(f"{drug}#")
    assert body["results"][0]["section"] == "side-effects"
    # A misspelling the drug dictionary lists as a name of the drug ("atorvastatine"
    # is the French name) is a synonym; any other is corrected as a spelling.
    assert any(r["kind"] in ("spelling", "synonym") and r["from"] == typo
               for r in body["interpretation"])


def test_ordinary_words_get_did_you_mean_not_a_rewrite(corpus_backend):
    body = search(corpus_backend, "warfarin bleding")
    assert not any(r["kind"] == "spelling" for r in body["interpretation"])
    assert body["corrected"] == "warfarin bleeding"


@pytest.mark.parametrize("q, label", [
    ("jak inhibitor", "JAK inhibitor"), ("statin", "Statin"), ("SSRI", "SSRI"),
    ("blood thinner", "Anticoagulant"), ("nsaids", "NSAID"),
])
def test_class_names_find_the_drugs_of_the_class(corpus_backend, q, label):
    expected = corpus_drugs_of_class(label)
    assert len(expected) >= 2
    body = search(corpus_backend, q, group="drug", per_page=20)
    top = [group["drug"] for group in body["results"]][:len(expected)]
    assert set(top) == expected
    if q.lower() != label.lower():
        assert {"kind": "class", "from": q, "to": label} in body["interpretation"]


def test_class_facet_filters_by_drug_class(corpus_backend):
    body = search(corpus_backend, "", drug_class=("statin",), per_page=100)
    assert {hit["drug"] for hit in body["results"]} == corpus_drugs_of_class("Statin")
    assert {b["value"] for b in body["facets"]["class"] if b["selected"]} == {"statin"}


@pytest.mark.parametrize("q, expected", [
    ("side effects of metformin", "metformin#side-effects"),
    ("metformin dose", "metformin#dosage"),
    ("how does metformin work", "metformin#how-it-works"),
    ("what is olumiant used for", "baricitinib#usage"),
    ("sertraline and pregnancy", "sertraline#precautions"),
    ("lisinopril warnings", "lisinopril#precautions"),
    # "for" a condition the drug is not labelled for, words between: still "what for"
    ("ibuprofen for a tooth infection", "ibuprofen#usage"),
    ("metformin diarrhea", "metformin#side-effects"),  # no "for": a side effect
    ("a few beers on warfarin", "warfarin#precautions"),  # an intent word in the plural
])
def test_section_intent_ranks_that_section_first_without_filtering(corpus_backend, q,
                                                                     expected):
    body = search(corpus_backend, q)
    assert body["results"][0]["id"] == expected
    drug = expected.split("#")[0]
    assert sum(1 for hit in body["results"] if hit["drug"] == drug) == 7  # nothing dropped
    assert any(r["kind"] == "intent" for r in body["interpretation"])


@pytest.mark.parametrize("q, drug", [
    ("can i drink alcohol on warfarin", "warfarin"),
    ("what should i do if i miss a dose of apixaban", "apixaban"),
    ("is it ok to take ibuprofen when pregnant?", "ibuprofen"),
    ('how long does "sertraline take to work', "sertraline"),
])
def test_questions_find_the_drug(corpus_backend, q, drug):
    body = search(corpus_backend, q)
    assert body["total"] > 0 and body["results"][0]["drug"] == drug


def test_when_not_every_word_matches_rank_by_the_words_that_do(corpus_backend):
    body = search(corpus_backend, "lactic acidosis zebra")
    assert body["relaxed"] is True and body["total"] > 0
    assert body["results"][0]["drug"] == "metformin"
    assert search(corpus_backend, "lactic acidosis zebra", literal=True)["total"] == 0


def test_question_words_alone_never_return_nothing(corpus_backend):
    assert search(corpus_backend, "what is the")["total"] > 0
    dosage = search(corpus_backend, "how much", per_page=100)
    assert dosage["total"] > 0 and {h["section"] for h in dosage["results"]} == {"dosage"}


@pytest.mark.parametrize("q, kind, value", [
    ("xanax", "class", "benzodiazepine"),
    ("acidosiss", "spelling", "acidosis"),
])
def test_zero_results_come_with_a_suggestion(corpus_backend, q, kind, value):
    body = search(corpus_backend, q)
    assert body["total"] == 0
    assert {"kind": kind, "value": value} in [
        {"kind": s["kind"], "value": s["value"]} for s in body["suggestions"]]


@pytest.mark.parametrize("q, scan", [("infection", None), ("infection", 1), ("insulin", 1),
                                     ("thyroid", 1)])
def test_group_by_drug_pages_through_drugs(corpus_backend, monkeypatch, q, scan):
    if scan:  # look at too few sections at first, so the widening loop must run ("insulin"
        # and "thyroid" have several sections of one drug at the top)
        from search.whoosh import engine
        monkeypatch.setattr(engine, "GROUP_SCAN", scan)
        monkeypatch.setattr(engine, "GROUP_SCAN_MIN", scan)
    flat = search(corpus_backend, q, literal=True, per_page=100)
    drugs = drugs_in_order(flat)
    first = search(corpus_backend, q, literal=True, group="drug", per_page=4)
    second = search(corpus_backend, q, literal=True, group="drug", per_page=4, page=2)
    assert first["total_groups"] == len(set(h["drug"] for h in flat["results"]))
    assert first["total"] == flat["total"]
    groups = [g["drug"] for g in first["results"] + second["results"]]
    assert groups == drugs[:8]  # groups in the order of each drug's best section
    for group in first["results"] + second["results"]:
        ids = [s["id"] for s in group["sections"]]
        expected = [h["id"] for h in flat["results"] if h["drug"] == group["drug"]][:3]
        assert ids == expected


def test_auto_grouping_groups_only_when_no_drug_is_named(corpus_backend):
    assert search(corpus_backend, "blood thinner", group="auto")["group"] == "drug"
    assert search(corpus_backend, "warfarin dose", group="auto")["group"] == "none"


@pytest.mark.parametrize("typed, kind, label", [
    ("olu", "brand", "Olumiant (Baricitinib)"),
    ("metf", "drug", "Metformin"),
    ("Hyperten", "condition", "Hypertension"),
    ("high blood p", "condition", "high blood pressure (Hypertension)"),  # a synonym
    ("salbut", "drug", "Salbutamol (Albuterol)"),  # an international name
    ("jak", "class", "JAK inhibitor"),
    ("arthr", "condition", "Rheumatoid arthritis"),  # any word of the name
    ("blood thin", "class", "blood thinner (Anticoagulant)"),
])
def test_suggest_completes_names(corpus_backend, typed, kind, label):
    suggestions = corpus_backend.suggest(typed, 20)["suggestions"]
    assert {"kind": kind, "label": label} in [
        {"kind": s["kind"], "label": s["label"]} for s in suggestions]
    for item in suggestions:
        words = item["query"].lower().split()
        assert any(" ".join(words[i:]).startswith(" ".join(typed.lower().split()))
                   for i in range(len(words)))


def test_suggest_api(client):
    body = client.get("/api/suggest?q=war&limit=3").get_json()
    assert body["suggestions"][0] == {"kind": "drug", "label": "Warfarin",
                                      "value": "warfarin", "query": "Warfarin"}
    assert len(body["suggestions"]) <= 3 and body["disclaimer"]
    assert client.get("/api/suggest?q=").get_json()["suggestions"] == []
    for bad in ["limit=0", "limit=21", "limit=x", "q=" + "a" * 101]:
        response = client.get(f"/api/suggest?{bad}")
        assert response.status_code == 400 and response.is_json
