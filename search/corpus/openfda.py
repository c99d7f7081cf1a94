"""openFDA drug labels (the /drug/label.json body) -> monographs in our format.

Label text is FDA public domain and is imported as is, minus the section numbering and
the numbered cross-references ("( 5.1 )") that mean nothing outside the label.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import MonosearchError
from .vocabulary import slugify

# (monograph heading, label fields, take all present fields or only the first)
SECTION_MAP: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("Usage", ("indications_and_usage", "purpose"), False),
    ("Dosage", ("dosage_and_administration",), False),
    ("Side Effects", ("adverse_reactions",), False),
    ("How it Works", ("mechanism_of_action", "clinical_pharmacology"), False),
    # Prescription labels, then the over-the-counter "Drug Facts" warnings.
    ("Precautions", ("boxed_warning", "warnings_and_cautions", "warnings", "precautions",
                     "contraindications", "pregnancy", "nursing_mothers", "do_not_use",
                     "ask_doctor", "ask_doctor_or_pharmacist", "when_using", "stop_use",
                     "pregnancy_or_breast_feeding"), True),
    ("Interactions", ("drug_interactions",), False),
)
# Drug Facts fields whose text starts with its own heading ("Do not use if ...").
OTC_FIELDS = {"do_not_use", "ask_doctor", "ask_doctor_or_pharmacist", "when_using",
              "stop_use", "pregnancy_or_breast_feeding", "purpose"}
FIELD_TITLES = {
    "indications_and_usage": "indications and usage",
    "dosage_and_administration": "dosage and administration",
    "adverse_reactions": "adverse reactions",
    "mechanism_of_action": "mechanism of action",
    "clinical_pharmacology": "clinical pharmacology",
    "boxed_warning": "boxed warning",
    "warnings_and_cautions": "warnings and precautions",
    "warnings": "warnings",
    "precautions": "precautions",
    "contraindications": "contraindications",
    "drug_interactions": "drug interactions",
    "pregnancy": "pregnancy",
    "nursing_mothers": "nursing mothers",
}
SUBHEADS = {"boxed_warning": "Boxed warning", "warnings_and_cautions": "Warnings and precautions",
            "warnings": "Warnings", "precautions": "Precautions",
            "contraindications": "Contraindications", "pregnancy": "Pregnancy",
            "nursing_mothers": "Nursing mothers"}

_NUMBER = r"\d+(?:\.\d+)*"
_CROSS_REF_RE = re.compile(rf"\(\s*{_NUMBER}(?:\s*,\s*{_NUMBER})*\s*\)")
_SUBSECTION_RE = re.compile(r"\s+(\d+\.\d+)\s+(?=[A-Z])")


class LabelError(MonosearchError):
    """A label that cannot become a monograph; str() names the source and the reason."""


@dataclass(frozen=True)
class ImportedMonograph:
    slug: str
    title: str
    text: str  # the whole markdown file


def load_labels(path: Path) -> list[dict]:
    """The labels of one openFDA response file ("results"), or a single bare label."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise LabelError(f"{path}: not an openFDA JSON file ({err})") from None
    labels = data.get("results") if isinstance(data, dict) and "results" in data else [data]
    if not isinstance(labels, list) or not all(isinstance(x, dict) for x in labels):
        raise LabelError(f"{path}: 'results' is not a list of labels")
    return labels


def clean_label_text(text: str, field: str) -> str:
    """Drop the leading section number and title, numbered cross-references, and start a
    paragraph at each numbered subsection."""
    if field not in OTC_FIELDS:  # their heading words are their content
        title = FIELD_TITLES.get(field, field.replace("_", " "))
        words = r"\s+".join(map(re.escape, title.split()))
        text = re.sub(rf"^\s*(?:{_NUMBER}\s+)?{words}\s*:?\s*", "", text,
                      flags=re.IGNORECASE)
    text = _CROSS_REF_RE.sub("", text)
    text = _SUBSECTION_RE.sub("\n\n", text)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" ([.,;:])", r"\1", text)
    return _escape_markdown(text.strip())


def _escape_markdown(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"([*_`\\])", r"\\\1", line.strip())
        if re.match(r"^(#|>|[-+] |\d+[.)] )", line):
            line = "\\" + line
        lines.append(line)
    return "\n".join(lines)


def _first(values) -> str | None:
    if isinstance(values, list):
        values = next((v for v in values if isinstance(v, str) and v.strip()), None)
    return values.strip() if isinstance(values, str) and values.strip() else None


def _field_text(label: dict, field: str) -> str | None:
    value = label.get(field)
    parts = value if isinstance(value, list) else [value]
    texts = [clean_label_text(p, field) for p in parts if isinstance(p, str) and p.strip()]
    joined = "\n\n".join(t for t in texts if t)
    return joined or None


def _product_name(elements) -> str | None:
    """The product name that opens spl_product_data_elements ("Meclizine Hydrochloride
    Meclizine Hydrochloride STARCH, ..."): its words up to the first repeat."""
    text = _first(elements)
    if not text:
        return None
    words: list[str] = []
    for word in text.split()[:6]:
        if word.lower() in {w.lower() for w in words} or not word[:1].isalpha():
            break
        words.append(word)
    return " ".join(words) or None


def _nice(name: str) -> str:
    return name.title() if name.isupper() else name


def convert_label(label: dict, source: str = "label") -> ImportedMonograph:
    """One label -> one monograph. Raises LabelError when no section is usable."""
    openfda = label.get("openfda") if isinstance(label.get("openfda"), dict) else {}
    generic = _first(openfda.get("generic_name"))
    brand = _first(openfda.get("brand_name"))
    title = _nice(generic or brand or _first(label.get("title"))
                  or _product_name(label.get("spl_product_data_elements")) or "")
    if not title:
        raise LabelError(f"{source}: label has no generic name, brand name or title")
    sections = []
    for heading, fields, combine in SECTION_MAP:
        found = [(f, t) for f in fields if (t := _field_text(label, f))]
        if not found:
            continue
        if combine and len(found) > 1:
            body = "\n\n".join(f"**{SUBHEADS[f]}:** {t}" if f in SUBHEADS else t
                               for f, t in found)
        else:
            body = found[0][1]
        sections.append((heading, body))
    if not sections:
        raise LabelError(f"{source}: label for {title} has no usable section "
                         "(indications, dosage, adverse reactions, warnings, ...)")
    brands = sorted({_nice(b.strip()) for b in openfda.get("brand_name", []) or []
                     if isinstance(b, str) and b.strip() and b.strip().lower() != title.lower()})
    classes = [re.sub(r"\s*\[EPC\]\s*$", "", c).strip()
               for c in openfda.get("pharm_class_epc", []) or [] if isinstance(c, str)]
    front = {"layout": "minimal-medicine", "title": title}
    if brands:
        front["brands"] = brands
    if classes:
        front["drug_class"] = classes if len(classes) > 1 else classes[0]
    provenance = {key: str(label[key]) for key in ("set_id", "version", "effective_time")
                  if label.get(key) is not None}
    front.update({"source": "openFDA drug label", **provenance})
    return ImportedMonograph(slug=slugify(title), title=title,
                             text=_render(front, title, sections, provenance))


def _render(front: dict, title: str, sections: list[tuple[str, str]], provenance: dict) -> str:
    where = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in provenance.items())
    names = ", ".join(front.get("brands", [])) or title
    parts = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip(), "---",
             "", f"# {title}", "### Generic Name", title, ""]
    for heading, body in sections:
        parts += [f"### {heading}", body, ""]
    parts += [
        "### FAQs",
        f"* **Where does this information come from?** It is imported from the FDA drug "
        f"label for {names}" + (f" ({where})." if where else "."),
        "",
        "* **Who should I ask about this medicine?** Your healthcare provider or pharmacist "
        "can explain how it applies to you.",
        "",
        "**Disclaimer:** This monograph reproduces public FDA prescribing information for "
        "educational purposes only and is not medical advice. Always consult your healthcare "
        "provider or pharmacist before starting, stopping, or changing any medication, and "
        "refer to the current official label.",
        "",
    ]
    return "\n".join(parts)


def import_files(files: list[Path], out: Path, force: bool = False
                 ) -> tuple[list[Path], list[str]]:
    """Convert every label in files into out/<slug>.md. Returns (written, problems)."""
    out.mkdir(parents=True, exist_ok=True)
    written, problems = [], []
    for path in files:
        try:
            labels = load_labels(path)
        except LabelError as err:
            problems.append(str(err))
            continue
        for number, label in enumerate(labels, start=1):
            source = f"{path}#{number}" if len(labels) > 1 else str(path)
            try:
                monograph = convert_label(label, source)
            except LabelError as err:
                problems.append(str(err))
                continue
            target = out / f"{monograph.slug}.md"
            if (target.exists() and not force) or target in written:
                problems.append(f"{source}: {target} exists (use --force to overwrite)")
                continue
            target.write_text(monograph.text, encoding="utf-8")
            written.append(target)
    return written, problems
