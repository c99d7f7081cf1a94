"""The bundled corpus and vocabulary files: structure, coverage and consistency."""

import json
from collections import Counter

import pytest

from search.corpus.facts import drug_facts
from search.corpus.parsing import iter_corpus
from search.corpus.vocabulary import DATA_DIR, default_vocabulary, slugify
from search.request import SearchRequest
from tests.conftest import ROOT, SEED

CORPUS = ROOT / "corpus"


@pytest.fixture(scope="module")
def monographs():
    parsed = list(iter_corpus(CORPUS))
    assert [str(m) for m in parsed if isinstance(m, Exception)] == []
    return parsed


def test_seed_is_shipped_unchanged():
    shared = ROOT.parent / "shared" / "seed" / "baricitinib.md"
    if not shared.exists():
        pytest.skip("the user's shared/ folder is not beside this checkout")
    assert SEED.read_bytes() == shared.read_bytes()


def test_every_monograph_has_the_format(monographs):
    standard = ["generic-name", "usage", "dosage", "side-effects", "mechanism",
                "precautions", "faqs"]
    for monograph in monographs:
        assert [s.type for s in monograph.sections] == standard, monograph.slug
        assert monograph.disclaimer and monograph.disclaimer.startswith("**Disclaimer:**")
        assert monograph.front_matter.get("layout") == "minimal-medicine"
        assert monograph.title == monograph.h1
        assert drug_facts(monograph, default_vocabulary())["indications"], monograph.slug


def test_coverage_through_the_api_facets(corpus_backend, monographs):
    everything = corpus_backend.search(SearchRequest())
    assert len(everything["facets"]["drug"]) == len(monographs) >= 60
    indications = [b["value"] for b in everything["facets"]["indication"]]
    drugs_per_indication = {
        value: len(corpus_backend.search(SearchRequest(indication=(value,)))["facets"]["drug"])
        for value in indications}
    assert len(indications) >= 25
    assert sum(1 for n in drugs_per_indication.values() if n >= 3) >= 6
    classes = {slug for m in monographs
               for slug, _ in drug_facts(m, default_vocabulary())["drug_class"]}
    assert len(classes) >= 15
    jak = [m.slug for m in monographs if "jak-inhibitor" in
           {s for s, _ in drug_facts(m, default_vocabulary())["drug_class"]}]
    assert len(jak) >= 3 and "baricitinib" in jak


def test_brands_file_structure_and_corpus_brands(monographs):
    data = json.loads((DATA_DIR / "brands.json").read_text(encoding="utf-8"))
    brands = [item["brand"].lower() for item in data["brands"]]
    assert [b for b, n in Counter(brands).items() if n > 1] == []
    assert len(brands) >= 300
    vocabulary = default_vocabulary()
    for monograph in monographs:
        generic = monograph.title.lower()
        assert any(g == generic for g in vocabulary.brands.values()), generic
        for brand in monograph.brands:
            assert vocabulary.generic_for(brand) == generic, (brand, generic)
    for brand, generic in [("Olumiant", "baricitinib"), ("glucophage", "metformin"),
                           ("TYLENOL", "acetaminophen"), ("paracetamol", "acetaminophen")]:
        assert vocabulary.generic_for(brand) == generic


def test_classes_file_structure(monographs):
    data = json.loads((DATA_DIR / "drug_classes.json").read_text(encoding="utf-8"))
    slugs = [c["slug"] for c in data["classes"]]
    assert [s for s, n in Counter(slugs).items() if n > 1] == []
    assert all(c["slug"] == slugify(c["label"]) for c in data["classes"])
    terms = Counter(t.lower() for c in data["classes"]
                    for t in {c["label"], *c["synonyms"], *c["lay_terms"]})
    assert [t for t, n in terms.items() if n > 1] == []
    vocabulary = default_vocabulary()
    for monograph in monographs:
        for name in monograph.drug_class:
            assert vocabulary.resolve_class(name)[0] in vocabulary.classes, name
