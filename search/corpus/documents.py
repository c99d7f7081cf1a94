"""A monograph as the documents every backend indexes: one per ``###`` section, tagged
with the drug, its indications and classes, and the section type."""

from __future__ import annotations

import re

from .facts import drug_facts
from .models import Monograph
from .sections import SECTION_KEYWORDS
from .vocabulary import Vocabulary

# The tokenizer pattern of the searched fields: Whoosh's RegexTokenizer default (a word
# may hold "*" and inner dots: "e.g", "2.5"), used alike by the Typesense analysis.
TOKEN_RE = re.compile(r"[\w*]+(?:\.?[\w*]+)*")


def section_documents(monograph: Monograph, vocabulary: Vocabulary,
                      facts: dict | None = None, ingredients: list[str] = (),
                      review: dict | None = None) -> list[dict]:
    """One document per ``###`` section, the same for every backend (pass ``facts`` if
    already derived; ``ingredients``: the ingredient ids of the monograph's names entry;
    ``review``: its entry in the review record, search.corpus.reviews)."""
    facts = facts or drug_facts(monograph, vocabulary)
    indications = ",".join(slug for slug, _ in facts["indications"])
    classes = ",".join(slug for slug, _ in facts["drug_class"])
    name_text = " ".join((monograph.title, *monograph.brands))
    documents = []
    for position, section in enumerate(monograph.sections):
        document = {
            "id": f"{monograph.slug}#{section.anchor}",
            "drug": monograph.slug,
            "drug_name": name_text,
            "section": section.type,
            "heading": section.plain_heading,
            "part": section.part,
            "section_terms": SECTION_KEYWORDS.get(section.type, ""),
            "indications": indications,
            "drug_class": classes,
            "ingredients": ",".join(ingredients),
            "body": section.text,
            "spelling": _distinct_words(f"{name_text} {section.heading} {section.text}"),
            "anchor": section.anchor,
            "position": position,
            "markdown": section.markdown,
            "path": monograph.path,
            "content_hash": monograph.content_hash,
        }
        if position == 0:
            document["monograph"] = {
                "title": monograph.title,
                "brands": list(monograph.brands),
                "drug_class": [label for _, label in facts["drug_class"]],
                "intro": monograph.intro,
                "disclaimer": monograph.disclaimer,
                "review": review,
            }
        documents.append(document)
    return documents


def _distinct_words(text: str) -> str:
    """Each word once: the spelling field only needs to know a word exists, and
    analysing every repetition was a large share of indexing time."""
    return " ".join(dict.fromkeys(TOKEN_RE.findall(text.lower())))
