"""import-openfda on the three real labels, and on labels it must refuse."""

import json
import re
import subprocess
import sys

import pytest

from search.corpus.check import check_corpus
from search.corpus.openfda import LabelError, clean_label_text, convert_label, import_files
from search.corpus.parsing import read_monograph
from search.corpus.vocabulary import default_vocabulary
from search.request import SearchRequest
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex
from tests.conftest import DATA, ROOT

LABELS = sorted((DATA / "openfda").glob("*.json"))


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("imported")
    written, problems = import_files(LABELS, out)
    assert problems == []
    return out, written


def test_each_label_becomes_a_monograph_that_passes_check(imported):
    out, written = imported
    assert sorted(p.name for p in written) == ["betaine.md", "mafenide-acetate.md",
                                               "meclizine-hydrochloride.md"]
    report = check_corpus(out, default_vocabulary())
    # Only the folder-wide note that nobody has reviewed the imports yet (an import is the
    # label's own text, not a review of it).
    assert [str(f) for f in report.findings] == [
        f"{out}/reviews.yaml: warning: no review record: none of the 3 monographs is "
        "recorded as checked against an FDA label"]


def test_front_matter_keeps_provenance_and_names(imported):
    betaine = read_monograph(imported[0] / "betaine.md")
    source = json.loads((DATA / "openfda" / "NDA020576.json").read_text())["results"][0]
    assert betaine.title == "Betaine" and betaine.brands == ("Cystadane",)
    assert betaine.drug_class == ("Methylating Agent",)
    assert (betaine.front_matter["set_id"], betaine.front_matter["version"],
            betaine.front_matter["effective_time"]) == (
        source["set_id"], source["version"], source["effective_time"])
    assert [s.type for s in betaine.sections][:3] == ["generic-name", "usage", "dosage"]


def test_section_numbering_and_cross_references_are_stripped(imported):
    for path in imported[1]:
        for section in read_monograph(path).sections:
            assert not re.match(r"^\d+(\.\d+)*\s+[A-Z]{4}", section.text), section.text[:40]
            assert not re.search(r"\(\s*\d+\.\d+\s*\)", section.text)
    usage = read_monograph(imported[0] / "meclizine-hydrochloride.md").section_of_type("usage")
    assert usage.text.startswith("Meclizine hydrochloride is indicated for the treatment")


def test_old_format_label_maps_warnings_and_precautions(imported):
    mafenide = read_monograph(imported[0] / "mafenide-acetate.md")
    precautions = mafenide.section_of_type("precautions").markdown
    assert "**Warnings:** Fatal hemolytic anemia" in precautions
    assert "**Precautions:** General Mafenide acetate" in precautions
    assert "**Contraindications:**" in precautions


def test_imported_monographs_index_and_are_findable(imported, tmp_path):
    report = reindex(imported[0], tmp_path / "index")
    assert report.errors == []
    backend = WhooshBackend(tmp_path / "index")
    for query, expected in [("vertigo", "meclizine-hydrochloride#usage"),
                            ("homocystinuria", "betaine#usage"),
                            ("burn wounds", "mafenide-acetate#usage"),
                            ("carbonic anhydrase", "mafenide-acetate#precautions"),
                            ("drowsiness driving", "meclizine-hydrochloride#precautions")]:
        assert backend.search(SearchRequest(q=query))["results"][0]["id"] == expected, query
    facets = backend.search(SearchRequest())["facets"]["indication"]
    assert {"vertigo", "homocystinuria", "burns"} <= {b["value"] for b in facets}


def test_label_without_usable_sections_is_reported_and_skipped(tmp_path):
    label = {"openfda": {"generic_name": ["NOTHING"]}, "description": ["11 DESCRIPTION x"]}
    with pytest.raises(LabelError, match="no usable section"):
        convert_label(label, "x.json")
    with pytest.raises(LabelError, match="no generic name"):
        convert_label({"indications_and_usage": ["x"]}, "y.json")
    source = tmp_path / "labels.json"
    good = json.loads(LABELS[0].read_text())["results"][0]
    source.write_text(json.dumps({"results": [label, good]}))
    (tmp_path / "broken.json").write_text("{not json")
    written, problems = import_files([source, tmp_path / "broken.json"], tmp_path / "out")
    assert [p.name for p in written] == ["meclizine-hydrochloride.md"]
    assert len(problems) == 2
    assert problems[0].startswith(f"{source}#1: label for Nothing has no usable section")
    assert problems[1].startswith(f"{tmp_path}/broken.json: not an openFDA JSON file")


def test_over_the_counter_drug_facts_fields(tmp_path):
    label = {"openfda": {"generic_name": ["LORATADINE"], "brand_name": ["Allergy Relief"]},
             "purpose": ["Purpose Antihistamine"],
             "indications_and_usage": ["Uses temporarily relieves symptoms of hay fever"],
             "do_not_use": ["Do not use if you have ever had an allergic reaction"],
             "ask_doctor": ["Ask a doctor before use if you have liver disease"],
             "stop_use": ["Stop use and ask a doctor if an allergic reaction occurs"],
             "dosage_and_administration": ["Directions adults take 1 tablet daily"]}
    out = tmp_path / "out"
    written, problems = import_files([_write(tmp_path, label)], out)
    assert problems == []
    monograph = read_monograph(written[0])
    precautions = monograph.section_of_type("precautions").text
    assert precautions.startswith("Do not use if you have ever had an allergic reaction")
    assert "Ask a doctor before use if you have liver disease" in precautions
    assert "Stop use and ask a doctor" in precautions
    assert check_corpus(out, default_vocabulary()).errors == 0
    backend_dir = tmp_path / "index"
    reindex(out, backend_dir)
    backend = WhooshBackend(backend_dir)
    hit = backend.search(SearchRequest(q="liver disease", literal=True))
    backend.close()
    assert hit["results"][0]["id"] == "loratadine#precautions"


def _write(folder, label):
    path = folder / "label.json"
    path.write_text(json.dumps({"results": [label]}))
    return path


def test_title_falls_back_to_the_product_name(tmp_path):
    label = json.loads(LABELS[0].read_text())["results"][0]
    del label["openfda"]
    assert convert_label(label, "x.json").title == "Meclizine Hydrochloride"


def test_existing_files_need_force(tmp_path):
    def run(*extra):
        return subprocess.run([sys.executable, "-m", "search", "import-openfda",
                               str(LABELS[0]), "--out", str(tmp_path), *extra],
                              cwd=ROOT, capture_output=True, text=True)

    assert run().returncode == 0
    target = tmp_path / "meclizine-hydrochloride.md"
    target.write_text("edited by hand")
    again = run()
    assert again.returncode == 1 and "use --force" in again.stderr
    assert target.read_text() == "edited by hand"
    assert run("--force").returncode == 0 and target.read_text() != "edited by hand"


@pytest.mark.parametrize("field, raw, expected", [
    ("indications_and_usage", "1 INDICATIONS AND USAGE Drug X is indicated ( 1.1 ).",
     "Drug X is indicated."),
    ("mechanism_of_action", "12.1 Mechanism of Action It blocks Y.", "It blocks Y."),
    ("warnings", "WARNINGS Take care. 5.1 Falls Patients fall.",
     "Take care.\n\nFalls Patients fall."),
    ("adverse_reactions", "6 ADVERSE REACTIONS * rash _x_", "\\* rash \\_x\\_"),
])
def test_clean_label_text(field, raw, expected):
    assert clean_label_text(raw, field) == expected
