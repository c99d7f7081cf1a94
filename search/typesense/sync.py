"""Loading a corpus into Typesense: documents shaped for it, a new collection per sync,
and an alias moved only once the collection is complete (so a killed sync changes
nothing for readers)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ..corpus.documents import section_documents
from ..corpus.drugnames import NameLinker
from ..corpus.facts import drug_facts
from ..corpus.parsing import iter_corpus
from ..corpus.reviews import load_reviews
from ..corpus.sections import shown_heading
from ..corpus.vocabulary import Vocabulary, default_vocabulary
from ..errors import EngineUnavailable, MonographError
from .analysis import analyzed
from .client import TypesenseClient, TypesenseError

DEFAULT_COLLECTION = "monographs"  # the alias readers search
IMPORT_BATCH = 500
WRITE_PATIENCE_SECONDS = 60.0  # how long a sync waits out a cluster without a leader
T = TypeVar("T")
# Field weights (Typesense takes integers): name and heading say more than the body,
# as our BM25F boosts; indication and class labels let "hair loss" find its drugs.
QUERY_FIELDS = {"t_name": 8, "t_heading": 4, "t_section": 3, "t_indications": 2,
                "t_classes": 2, "t_body": 1}
# A literal query searches the fields Whoosh's parser searches (search.whoosh.schema's
# SEARCH_FIELDS): not the indication and class labels, which an understood query
# reaches through its recognised conditions and classes.
LITERAL_FIELDS = ("t_name", "t_heading", "t_section", "t_body")

# -- documents ----------------------------------------------------------------------------
def collection_schema(name: str) -> dict:
    """Searchable analyzed fields and facet fields; display fields are stored unindexed."""
    fields = [{"name": "drug", "type": "string", "facet": True, "sort": True},
              {"name": "section", "type": "string", "facet": True},
              {"name": "indications", "type": "string[]", "facet": True},
              {"name": "drug_class", "type": "string[]", "facet": True},
              {"name": "position", "type": "int32", "sort": True}]
    fields += [{"name": name, "type": "string"} for name in QUERY_FIELDS]
    return {"name": name, "fields": fields}


def typesense_documents(monograph, vocabulary: Vocabulary, names: NameLinker | None = None,
                        review: dict | None = None) -> list[dict]:
    """Our section documents (search.corpus.documents) reshaped for Typesense; ``names`` links
    the drug names the Whoosh index stores with each generation; ``review``: the
    monograph's entry in the review record."""
    facts = drug_facts(monograph, vocabulary)
    indication_text = analyzed(" ".join(label for _, label in facts["indications"]))
    class_text = analyzed(" ".join(label for _, label in facts["drug_class"]))
    documents = []
    for doc in section_documents(monograph, vocabulary, facts, review=review):
        out = {
            "id": doc["id"], "drug": doc["drug"], "section": doc["section"],
            "indications": [v for v in doc["indications"].split(",") if v],
            "drug_class": [v for v in doc["drug_class"].split(",") if v],
            "position": doc["position"],
            "t_name": analyzed(doc["drug_name"]), "t_heading": analyzed(doc["heading"]),
            "t_section": analyzed(doc["section_terms"]), "t_indications": indication_text,
            "t_classes": class_text, "t_body": analyzed(doc["body"]),
            "title": monograph.title, "heading": shown_heading(doc), "body": doc["body"],
            "anchor": doc["anchor"], "markdown": doc["markdown"], "path": doc["path"],
        }
        if "monograph" in doc:  # drug-level data rides on the first section
            out["monograph"] = doc["monograph"]
            out["entry"] = {"title": monograph.title, "brands": list(monograph.brands),
                            "indications": facts["indications"],
                            "drug_class": facts["drug_class"]}
            if names is not None:
                out["entry"]["names"] = names(monograph.title)
        documents.append(out)
    return documents


# -- sync -----------------------------------------------------------------------------------
@dataclass
class SyncReport:
    collection: str = ""  # the new collection the alias now names
    monographs: int = 0
    sections: int = 0
    errors: list[MonographError] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # old collections deleted
    seconds: float = 0.0


def sync_typesense(corpus_dir: Path, client: TypesenseClient,
                   collection: str = DEFAULT_COLLECTION,
                   vocabulary: Vocabulary | None = None) -> SyncReport:
    """Load the corpus into a new collection, then point the alias ``collection`` at it.
    Until the alias moves readers see the old collection, so a killed sync changes
    nothing; the previous collection is kept (readers may be mid-request), older ones
    and leftovers of killed syncs are deleted."""
    started = time.perf_counter()
    vocabulary = vocabulary or default_vocabulary()
    report = SyncReport(collection=f"{collection}-{time.strftime('%Y%m%dT%H%M%S')}-"
                                   f"{secrets.token_hex(3)}")
    _create(client, report.collection)
    batch: list[dict] = []
    names = NameLinker(vocabulary)
    reviews = load_reviews(Path(corpus_dir))
    report.errors.extend(reviews.problems)
    for monograph in iter_corpus(Path(corpus_dir)):
        if isinstance(monograph, MonographError):
            report.errors.append(monograph)
            continue
        documents = typesense_documents(monograph, vocabulary, names,
                                        reviews.shown(monograph.slug))
        report.monographs += 1
        report.sections += len(documents)
        batch += documents
        if len(batch) >= IMPORT_BATCH:
            _import(client, report.collection, batch)
            batch = []
    if batch:
        _import(client, report.collection, batch)
    previous = _patiently(lambda: current_collection(client, collection))
    _patiently(lambda: client.request("PUT", f"/aliases/{collection}",
                                      body={"collection_name": report.collection}))
    for old in _patiently(lambda: client.request("GET", "/collections")):
        name = old["name"]
        if name.startswith(f"{collection}-") and name not in (report.collection, previous):
            _patiently(lambda name=name: _drop(client, name))
            report.dropped.append(name)
    report.seconds = time.perf_counter() - started
    return report


def _patiently(call: Callable[[], T]) -> T:
    """A write that a cluster refuses while it elects a leader (5xx, or no node answers)
    is tried again for up to WRITE_PATIENCE_SECONDS: a sync is a batch job and outlives
    the loss of a node. Every write here can be repeated safely."""
    deadline = time.monotonic() + WRITE_PATIENCE_SECONDS
    while True:
        try:
            return call()
        except EngineUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _create(client: TypesenseClient, name: str) -> None:
    try:
        _patiently(lambda: client.request("POST", "/collections", body=collection_schema(name)))
    except TypesenseError as err:
        if err.status != 409:  # made by an attempt whose answer was lost: the same schema
            raise


def _drop(client: TypesenseClient, name: str) -> None:
    try:
        client.request("DELETE", f"/collections/{name}")
    except TypesenseError as err:
        if err.status != 404:  # dropped by an attempt whose answer was lost
            raise


def _import(client: TypesenseClient, name: str, documents: list[dict]) -> None:
    body = "\n".join(json.dumps(doc, ensure_ascii=False) for doc in documents).encode()
    # upsert: a batch tried again after a lost answer writes the same documents again
    answer = _patiently(lambda: client.request(
        "POST", f"/collections/{name}/documents/import", params={"action": "upsert"},
        body=body, raw=True))
    for line, doc in zip(answer.splitlines(), documents, strict=False):
        result = json.loads(line)
        if not result.get("success"):
            raise TypesenseError(400, f"document {doc['id']}: {result.get('error')}")


def current_collection(client: TypesenseClient, alias: str) -> str | None:
    try:
        return client.request("GET", f"/aliases/{alias}")["collection_name"]
    except TypesenseError as err:
        if err.status == 404:
            return None
        raise
