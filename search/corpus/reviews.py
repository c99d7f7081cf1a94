"""The review record kept beside the monographs (``reviews.yaml`` in the corpus folder):
for each monograph, the FDA label it was last checked against and when.

The record is not part of any monograph file, so a review never changes a file (the
user's sample stays byte for byte as it is). The indexer stores each monograph's entry
with it, so the drug page can say what the text was checked against."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import MonographError

REVIEWS_FILE = "reviews.yaml"
MAX_BYTES = 4 * 1024 * 1024  # about 2,000 bytes an entry: room for 2,000 monographs
LABEL_DATE_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
SET_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
APPLICATION_RE = re.compile(r"^(NDA|BLA|ANDA)\d{6}$")
SHOWN_FIELDS = ("label", "set_id", "application", "label_date", "label_date_unknown",
                "checked")


@dataclass(frozen=True)
class Reviews:
    """Entries by monograph slug, and what was wrong with the record (one line each)."""

    entries: Mapping[str, dict]
    problems: tuple[MonographError, ...] = ()
    found: bool = True  # False: the corpus has no record file
    rejected: frozenset[str] = frozenset()  # slugs whose entry is not well formed

    def shown(self, slug: str) -> dict | None:
        """What the drug page shows of a monograph's entry: the label's title, ids and
        date, and the day it was checked; None when it has no entry."""
        entry = self.entries.get(slug)
        return None if entry is None else {key: entry.get(key) for key in SHOWN_FIELDS}

    def fingerprint(self, slug: str) -> str | None:
        """Changes when the shown part of an entry changes: the monograph is then
        indexed again, though its file is the same."""
        shown = self.shown(slug)
        if shown is None:
            return None
        return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:16]


def load_reviews(corpus_dir: Path) -> Reviews:
    """The record in ``corpus_dir``; no file is an empty record. A record that cannot be
    read is one problem and no entries; an entry that is not well formed is one problem
    naming it, and is left out (the others are kept)."""
    path = corpus_dir / REVIEWS_FILE
    shown = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return Reviews({}, found=False)
    except OSError as err:
        return Reviews({}, (MonographError(shown, f"cannot read the review record "
                                                  f"({err.strerror or err})"),))
    if len(raw) > MAX_BYTES:
        return Reviews({}, (MonographError(shown, f"review record over "
                                                  f"{MAX_BYTES // 1024 // 1024} MiB"),))
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        reason = "not UTF-8" if isinstance(err, UnicodeDecodeError) else "not valid YAML"
        return Reviews({}, (MonographError(shown, f"review record is {reason}",
                                           line + 1 if line is not None else None),))
    if data is None:
        return Reviews({})
    if not isinstance(data, dict):
        return Reviews({}, (MonographError(shown, "review record is not a mapping of "
                                                  "monograph names to entries"),))
    entries, problems, rejected = {}, [], set()
    for slug, entry in data.items():
        reason = entry_problem(entry)
        if reason:
            problems.append(MonographError(shown, f"entry {str(slug)!r}: {reason}"))
            rejected.add(str(slug))
        else:
            entries[str(slug)] = {key: _plain(value) for key, value in entry.items()}
    return Reviews(entries, tuple(problems), rejected=frozenset(rejected))


def entry_problem(entry: object) -> str | None:
    """Why an entry cannot stand as the record of a review, or None."""
    if not isinstance(entry, dict):
        return "not a mapping"
    label_date = _plain(entry.get("label_date"))
    checked = _plain(entry.get("checked"))
    set_id, application = entry.get("set_id"), entry.get("application")
    if not isinstance(entry.get("label"), str) or not entry["label"].strip():
        return "no 'label' (the label's title as printed)"
    if not set_id and not application:
        return "names no label: give its 'set_id' or its 'application' number"
    if set_id and not (isinstance(set_id, str) and SET_ID_RE.match(set_id)):
        return f"'set_id' {set_id!r} is not a DailyMed set id"
    if application and not (isinstance(application, str)
                            and APPLICATION_RE.match(application)):
        return f"'application' {application!r} is not NDA, BLA or ANDA and six digits"
    unknown = entry.get("label_date_unknown")
    if label_date is None and isinstance(unknown, str) and unknown.strip():
        pass  # the copy of the label the reviewer read showed no date: said, not guessed
    elif label_date is None:
        return "no 'label_date', and no 'label_date_unknown' saying why"
    elif not (isinstance(label_date, str) and LABEL_DATE_RE.match(label_date)):
        return f"'label_date' {label_date!r} is not YYYY-MM or YYYY-MM-DD"
    if not (isinstance(checked, str) and LABEL_DATE_RE.match(checked)
            and len(checked) == 10):
        return f"'checked' {checked!r} is not YYYY-MM-DD"
    return None


def _plain(value: object) -> object:
    """YAML reads an unquoted 2024-07-01 as a date: kept as its ISO text."""
    return value.isoformat() if isinstance(value, datetime.date) else value
