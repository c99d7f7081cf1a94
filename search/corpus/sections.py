"""Canonical section types and the heading variants that map to them."""

from __future__ import annotations

import re

# type -> (display label, heading variants in lower case)
SECTION_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "generic-name": ("Generic Name", ("generic name",)),
    "usage": ("Usage", ("usage", "uses", "indications")),
    "dosage": ("Dosage", ("dosage", "dosing", "dose")),
    "side-effects": ("Side Effects", ("side effects", "adverse reactions", "adverse effects")),
    "mechanism": ("How it Works", ("how it works", "mechanism of action", "mechanism")),
    "precautions": ("Precautions", ("precautions", "warnings", "warnings and precautions")),
    "interactions": ("Interactions", ("interactions", "drug interactions")),
    "faqs": ("FAQs", ("faqs", "frequently asked questions")),
    "other": ("Other", ()),
}

# Extra words indexed with each section so that "dose" or "side effects" finds the
# section of that type even when its heading is a variant ("Dosing", "Adverse Reactions").
SECTION_KEYWORDS: dict[str, str] = {
    "generic-name": "generic name",
    "usage": "usage uses used indications treat",
    "dosage": "dosage dose dosing doses how much",
    "side-effects": "side effects adverse reactions",
    "mechanism": "how it works mechanism action",
    "precautions": "precautions warnings",
    "interactions": "interactions interact",
    "faqs": "faqs frequently asked questions",
    "other": "",
}

_VARIANTS = {variant: kind for kind, (_, variants) in SECTION_TYPES.items() for variant in variants}


def normalize_heading(heading: str) -> str:
    """Heading as compared: lower case, single spaces, no trailing colons."""
    return re.sub(r"\s+", " ", heading).strip().rstrip(":").strip().lower()


def classify_heading(heading: str) -> str:
    """Canonical type of a ``###`` heading; ``other`` for anything unknown."""
    return _VARIANTS.get(normalize_heading(heading), "other")


def section_label(section_type: str) -> str:
    return SECTION_TYPES.get(section_type, (section_type, ()))[0]


def shown_heading(stored: dict) -> str:
    """A section's heading as readers see it, with the part it belongs to."""
    part = stored.get("part")
    return f"{stored['heading']} ({part})" if part else stored["heading"]
