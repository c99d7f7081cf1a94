"""Drug-level facts derived from a monograph: indications and classes."""

from __future__ import annotations

from .models import Monograph
from .vocabulary import Vocabulary, slugify


def drug_facts(monograph: Monograph, vocabulary: Vocabulary) -> dict:
    """Drug-level values shared by every section document: indications and classes
    as (slug, label) pairs."""
    if monograph.indications:
        # An indication of punctuation alone has no slug: it names nothing.
        indications = [pair for pair in map(vocabulary.resolve, monograph.indications)
                       if pair[0]]
    else:
        usage = monograph.section_of_type("usage")
        slugs = vocabulary.extract_indications(usage.text) if usage else []
        indications = [(slug, vocabulary.label(slug)) for slug in slugs]
    classes = [vocabulary.resolve_class(name) for name in monograph.drug_class
               if slugify(name)]
    classes += vocabulary.classes_of(monograph.title)
    return {
        "indications": list(dict.fromkeys(indications)),
        "drug_class": list(dict.fromkeys(classes)),
    }
