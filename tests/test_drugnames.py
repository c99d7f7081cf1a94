"""Drug names linked at reindex: titles split into ingredients and qualifiers, names from
the dictionary and our vocabulary, one id for every spelling of a drug."""

import json
import os
import subprocess
import sys

import pytest

from search.corpus import drugnames
from search.corpus.drugnames import (
    DrugDictionary,
    NameLinker,
    link_names,
    load_dictionary,
    spelling_key,
    split_title,
    strip_qualifiers,
)
from search.corpus.vocabulary import Vocabulary, default_vocabulary
from search.request import SearchRequest
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex
from tests.conftest import ROOT, SEED


@pytest.mark.parametrize("title, expected", [
    ("Furosemide", [("furosemide", ())]),
    ("Metoprolol Succinate", [("metoprolol", ("succinate",))]),
    ("Beclomethasone (Oral Inhalation)", [("beclomethasone", ("oral", "inhalation"))]),
    ("Furosemide + Potassium Chloride", [("furosemide", ()), ("potassium chloride", ())]),
    ("Aceclofenac + Paracetamol + Serratiopeptidase",
     [("aceclofenac", ()), ("paracetamol", ()), ("serratiopeptidase", ())]),
    ("Sodium Valproate", [("valproate", ("sodium",))]),
    ("Calcium Citrate Malate", [("calcium citrate malate", ())]),  # nothing but salts
    ("Diclofenac Sodium Topical Gel", [("diclofenac", ("sodium", "topical", "gel"))]),
])
def test_titles_split_into_ingredients_and_qualifiers(title, expected):
    assert [(i.name, i.qualifiers) for i in split_title(title)] == expected


def test_and_joins_two_drugs_only_when_both_are_drugs():
    known = {"amlodipine", "benazepril"}.__contains__
    assert [i.name for i in split_title("Amlodipine and Benazepril", known)] == [
        "amlodipine", "benazepril"]
    assert [i.name for i in split_title("Diphtheria and Tetanus Toxoids", known)] == [
        "diphtheria and tetanus toxoids"]


@pytest.mark.parametrize("us, international", [
    ("cephalexin", "cefalexin"), ("beclomethasone", "beclometasone"),
    ("cholecalciferol", "colecalciferol"), ("acyclovir", "aciclovir"),
    ("ferrous sulfate", "ferrous sulphate"), ("cyclosporine", "ciclosporin"),
])
def test_spelling_key_joins_us_and_international_spellings(us, international):
    assert spelling_key(us) == spelling_key(international)


def test_spelling_key_keeps_different_drugs_apart():
    names = ["quinine", "quinidine", "metformin", "metoprolol", "prednisone", "prednisolone",
             "hydroxyzine", "hydralazine", "sertraline", "selegiline"]
    assert len({spelling_key(name) for name in names}) == len(names)


def test_strip_qualifiers_keeps_a_name_made_of_salt_words():
    assert strip_qualifiers("potassium chloride") == ("potassium chloride", ())
    assert strip_qualifiers("losartan potassium") == ("losartan", ("potassium",))


# A small dictionary of our own, shaped as the package's (variant -> canonical names).
SMALL = DrugDictionary({
    "cephalexin": ["cephalexin"], "keftab": ["cephalexin"],
    "cefalexin": ["cefalexin"],
    "acetaminophen": ["acetaminophen"], "paracetamol": ["acetaminophen"],
    "panadol": ["acetaminophen"], "oxycodone": ["oxycodone"],
    "oxycodone and acetaminophen": ["oxycodone and acetaminophen"],
    "endocet": ["oxycodone and acetaminophen"],
    "furosemide": ["furosemide"], "frusemide": ["furosemide"], "lasix": ["furosemide"],
    "apo-furosemide": ["furosemide"], "furosemide, sodium salt": ["furosemide"],
}, brands=["panadol"], version="test")
VOCABULARY = Vocabulary([], brands={"Keflex": "cephalexin", "Tylenol": "acetaminophen",
                                    "Percocet": "oxycodone and acetaminophen"},
                        aliases={"cefalexin": "cephalexin"},
                        product_names={"flu shot": ["influenza vaccine"]})


def aliases(names: dict) -> dict[str, tuple[int, str]]:
    return {name: (part, kind) for name, part, kind in names["aliases"]}


def test_names_bridge_spellings_both_ways_with_one_id():
    cefalexin = link_names("Cefalexin", SMALL, VOCABULARY)
    cephalexin = link_names("Cephalexin", SMALL, VOCABULARY)
    assert cefalexin["ids"] == cephalexin["ids"] == ["cefalexin"]
    assert aliases(cefalexin)["keflex"] == (0, "brand")  # our brand of the US spelling
    assert aliases(cefalexin)["cephalexin"] == (0, "synonym")
    assert aliases(cefalexin)["keftab"] == (0, "brand")  # the dictionary's, via the twin
    assert "cefalexin" in aliases(cephalexin)


def test_names_leave_out_decorated_and_chemical_variants():
    names = aliases(link_names("Furosemide", SMALL, VOCABULARY))
    assert names == {"lasix": (0, "brand"), "frusemide": (0, "synonym")}


def test_a_combination_gets_its_ingredients_names_and_its_own_brands():
    names = link_names("Oxycodone + Paracetamol", SMALL, VOCABULARY)
    assert names["ingredients"] == ["oxycodone", "paracetamol"]
    assert names["ids"] == ["oxycodone", "acetaminophen"]
    found = aliases(names)
    assert found["tylenol"] == (1, "brand") and found["panadol"] == (1, "brand")
    assert found["percocet"] == (-1, "brand") and found["endocet"] == (-1, "brand")


def test_lay_product_names_go_to_the_ingredient_they_name():
    names = link_names("Fenebrutinib + Influenza Virus Vaccine", SMALL, VOCABULARY)
    assert aliases(names)["flu shot"] == (1, "synonym")


def test_linker_loads_no_dictionary_for_titles_it_knows(monkeypatch):
    known = {"Furosemide": {"ingredients": ["furosemide"], "ids": ["furosemide"],
                            "qualifiers": [], "aliases": []}}
    monkeypatch.setattr(drugnames, "load_dictionary", lambda *a: pytest.fail("loaded"))
    assert NameLinker(VOCABULARY, known)("Furosemide") == known["Furosemide"]


def test_the_real_dictionary_bridges_us_and_international_names():
    dictionary = load_dictionary()
    vocabulary = default_vocabulary()
    pairs = [("Cefalexin", "Cephalexin"), ("Paracetamol", "Acetaminophen"),
             ("Salbutamol", "Albuterol Sulfate"), ("Beclometasone", "Beclomethasone (Nasal)")]
    for international, us in pairs:
        first = link_names(international, dictionary, vocabulary)
        second = link_names(us, dictionary, vocabulary)
        assert first["ids"] == second["ids"], (international, us)
    assert "keflex" in aliases(link_names("Cefalexin", dictionary, vocabulary))
    assert "lasix" in aliases(link_names("Furosemide", dictionary, vocabulary))
    assert "ventolin" in aliases(link_names("Salbutamol", dictionary, vocabulary))


def test_generation_records_the_dictionary_and_a_new_version_rebuilds(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED.name).write_text(SEED.read_text())
    index = tmp_path / "index"
    first = reindex(corpus, index)
    manifest = json.loads((index / first.generation / "manifest.json").read_text())
    assert manifest["dictionary"] == drugnames.dictionary_version()
    assert manifest["monographs"]["baricitinib"]["names"]["ingredients"] == ["baricitinib"]
    assert reindex(corpus, index).generation == first.generation  # nothing changed
    monkeypatch.setattr("search.whoosh.indexer.dictionary_version", lambda: "999.0")
    again = reindex(corpus, index)
    assert again.full and again.generation != first.generation


def test_each_ingredient_s_names_are_stored_once_per_generation(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for slug, title in [("furosemide", "Furosemide"),
                        ("furosemide-kcl", "Furosemide + Potassium Chloride"),
                        ("percocet-like", "Oxycodone + Paracetamol")]:
        (corpus / f"{slug}.md").write_text(f"# {title}\n### Usage\nUsed in tests.\n")
    index = tmp_path / "index"

    def manifest() -> dict:
        generation = reindex(corpus, index).generation
        return json.loads((index / generation / "manifest.json").read_text())

    first = manifest()
    assert ["lasix", "brand"] in first["names"]["furosemide"]
    for entry in first["monographs"].values():  # aliases of the whole product only
        assert all(part == -1 for _, part, _ in entry["names"]["aliases"])
    assert ["percocet", -1, "brand"] in first["monographs"]["percocet-like"]["names"]["aliases"]
    (corpus / "furosemide-kcl.md").write_text(
        "# Furosemide + Potassium Chloride\n### Usage\nEdited.\n")
    second = manifest()  # incremental: the unchanged monographs' names are carried over
    assert second["names"] == first["names"]
    (corpus / "percocet-like.md").unlink()
    third = manifest()
    assert "oxycodone" not in third["names"] and "furosemide" in third["names"]
    backend = WhooshBackend(index)
    body = backend.search(SearchRequest(q="lasix"))
    assert body["results"][0]["drug"] == "furosemide"
    backend.close()


def test_a_cold_cache_reads_the_data_file_without_importing_the_package(tmp_path):
    """The package's import builds fuzzy-match tables we never use (3 s)."""
    script = ("import json, sys\n"
              "from search.corpus.drugnames import DICTIONARY_MODULE, load_dictionary\n"
              "d = load_dictionary()\n"
              "print(json.dumps([DICTIONARY_MODULE in sys.modules, len(d.canonical_names()),"
              " d.canonicals('paracetamol')]))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, drugnames.CACHE_ENV: str(tmp_path)})
    assert result.returncode == 0, result.stderr
    imported, count, paracetamol = json.loads(result.stdout)
    assert imported is False
    warm = load_dictionary()  # the run's own, from the cache pytest_configure wrote
    assert (count, paracetamol) == (len(warm.canonical_names()), warm.canonicals("paracetamol"))
    assert paracetamol  # a real dictionary, not an empty one
    assert [p.name for p in tmp_path.iterdir()] == [drugnames.cache_path(tmp_path).name]
