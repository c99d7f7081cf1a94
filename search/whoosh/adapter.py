"""Whoosh's internals, in one place: every private or codec-specific name search/whoosh/
uses goes through this module.

The speed-ups read Whoosh below its public API (postings a block at a time, the one-byte
length column, writers that add segments without the index lock). whoosh-reloaded is
pinned exactly for that, and this module checks when it is imported that each name it
uses exists, so that another version fails at once with one error naming what is
missing, rather than as an AttributeError (a 500) on some later request.
"""

from __future__ import annotations

import dis
import importlib
import inspect
import re
from collections.abc import Iterable, Iterator, Sequence
from importlib import metadata

from whoosh import columns, writing
from whoosh.codec import whoosh3

from ..errors import MonosearchError

DISTRIBUTION = "whoosh-reloaded"
REQUIRED_VERSION = "2.7.5"

# What this module uses of Whoosh, checked at import. "module:Name.attr" is an attribute
# (a class, function, method or class attribute); "module:Class()._attr" one that the
# methods of Class or its bases set on instances (found in their bytecode: nothing is
# built to look); "module:Class(_param)" a parameter of Class's __init__ (SegmentWriter
# takes **kwargs, which would swallow a renamed one silently).
REQUIRED_NAMES = (
    # Postings a block at a time (matching.py)
    "whoosh.codec.whoosh3:W3LeafMatcher",
    "whoosh.codec.whoosh3:W3LeafMatcher._read_ids",
    "whoosh.codec.whoosh3:W3LeafMatcher._read_weights",
    "whoosh.codec.whoosh3:W3LeafMatcher._read_values",
    "whoosh.codec.whoosh3:W3LeafMatcher._next_block",
    "whoosh.codec.whoosh3:W3LeafMatcher()._ids",
    "whoosh.codec.whoosh3:W3LeafMatcher()._weights",
    "whoosh.codec.whoosh3:W3LeafMatcher()._values",
    # BM25F's per-field B and the one-byte length column (scoring.py)
    "whoosh.scoring:BM25F()._field_B",
    "whoosh.codec.whoosh3:LENGTHS_COLUMN",
    "whoosh.codec.whoosh3:_lenfield",
    "whoosh.reading:SegmentReader()._perdoc",
    "whoosh.codec.whoosh3:W3PerDocReader._cached_reader",
    "whoosh.columns:NumericColumn.Reader",
    "whoosh.columns:NumericColumn.Reader()._fixedlen",
    "whoosh.columns:NumericColumn.Reader()._count",
    "whoosh.columns:NumericColumn.Reader()._dbfile",
    "whoosh.columns:NumericColumn.Reader()._basepos",
    "whoosh.filedb.structfile:StructFile.get",
    # The build's codec and writers (indexer.py, parallel.py)
    "whoosh.codec.whoosh3:W3Codec",
    "whoosh.codec.whoosh3:W3Codec.length_stats",
    "whoosh.writing:SegmentWriter",
    "whoosh.writing:SegmentWriter(_lk)",
    "whoosh.writing:SegmentWriter().segments",
    "whoosh.writing:SegmentWriter._finalize_segment",
)


_SPEC_RE = re.compile(r"([\w.]+):([\w.]+)(?:\(\)\.(\w+)|\((\w+)\))?")


class WhooshIncompatible(MonosearchError, ImportError):
    """The installed Whoosh lacks internals this package uses. An ImportError too, since
    it is raised while search.whoosh is imported and that is how tools report it."""


def find_missing(required: Iterable[str] = REQUIRED_NAMES) -> list[str]:
    """The required names (see REQUIRED_NAMES) that the installed Whoosh lacks, as dotted
    names; an absent module or class is named once, not once per member."""
    missing: dict[str, None] = {}
    for spec in required:
        gone = _find(spec)
        if gone is not None:
            missing[gone] = None
    return list(missing)


def check(required: Iterable[str] = REQUIRED_NAMES) -> None:
    """Raise WhooshIncompatible naming every missing name; run once at import."""
    missing = find_missing(required)
    if missing:
        raise WhooshIncompatible(
            f"search.whoosh needs {DISTRIBUTION} {REQUIRED_VERSION} (installed: "
            f"{installed_version()}); these Whoosh internals it uses are missing: "
            f"{', '.join(missing)}. Install {DISTRIBUTION}=={REQUIRED_VERSION}, or port "
            "search/whoosh/adapter.py to the new version.")


def installed_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "not installed"


def _find(spec: str) -> str | None:
    """None if a required name exists, else the dotted name of its first missing part."""
    parsed = _SPEC_RE.fullmatch(spec)
    if parsed is None:
        raise ValueError(f"not a required-name spec: {spec!r}")
    module_name, path, attribute, parameter = parsed.groups()
    try:
        owner = importlib.import_module(module_name)
    except ImportError:
        return module_name
    found = module_name
    for part in path.split("."):
        found = f"{found}.{part}"
        if not hasattr(owner, part):
            return found
        owner = getattr(owner, part)
    if attribute is not None and not _sets_on_instances(owner, attribute):
        return f"{found}().{attribute}"
    if parameter is not None and not _takes(owner, parameter):
        return f"{found}({parameter})"
    return None


def _takes(cls: type, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # no signature to read
        return False


def _sets_on_instances(cls: type, name: str) -> bool:
    """Is self.<name> assigned by a method of cls or of a base (or a class attribute)?
    Read from the methods' bytecode, so nothing is constructed and no source is needed
    (W3LeafMatcher sets _ids when it moves to a block, not in __init__)."""
    if hasattr(cls, name):
        return True
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        # __init__ first: it sets most, and disassembling every method costs ~10 ms
        for method in [init, *(m for m in vars(klass).values() if m is not init)]:
            if inspect.isfunction(method) and name in method.__code__.co_names and any(
                    step.opname == "STORE_ATTR" and step.argval == name
                    for step in dis.get_instructions(method)):
                return True
    return False


check()

# -- postings a block at a time (matching.py) ------------------------------------------
def has_blocks(matcher) -> bool:
    """Can read_weight_blocks and read_value_blocks read this matcher's postings?"""
    return isinstance(matcher, whoosh3.W3LeafMatcher)


def read_weight_blocks(matcher) -> Iterator[tuple[Sequence[int], Sequence[float]]]:
    """(document numbers, weights) of each block left in a W3 matcher: the arrays its
    id()/weight()/next() read one posting at a time (~1 us a call). Leaves it exhausted."""
    while matcher.is_active():
        matcher._read_ids()
        matcher._read_weights()
        yield matcher._ids, matcher._weights
        matcher._next_block()


def read_value_blocks(matcher) -> Iterator[tuple[Sequence[int], Sequence[bytes]]]:
    """(document numbers, encoded values) of each block left in a W3 matcher."""
    while matcher.is_active():
        matcher._read_ids()
        matcher._read_values()
        yield matcher._ids, matcher._values
        matcher._next_block()


# -- scoring (scoring.py) --------------------------------------------------------------
def field_b_values(weighting) -> dict[str, float]:
    """BM25F's per-field B (field -> B, from ``<field>_B`` arguments); {} for other
    weightings."""
    return dict(getattr(weighting, "_field_B", {}))


def read_length_bytes(leaf, field: str, limit: int) -> bytes | None:
    """The one-byte length codes a W3 segment stores for its first ``limit`` documents in
    a field, read as one slice (shorter when the column ends early: the rest are 0);
    None when the segment does not keep them so (ask doc_field_length instead)."""
    cached_reader = getattr(getattr(leaf, "_perdoc", None), "_cached_reader", None)
    if cached_reader is None:
        return None
    column = cached_reader(whoosh3._lenfield(field), whoosh3.LENGTHS_COLUMN)
    if type(column) is not columns.NumericColumn.Reader or column._fixedlen != 1:
        return None
    stored = min(column._count, limit)
    return column._dbfile.get(column._basepos, stored) if stored else b""


# -- building (indexer.py, parallel.py) ------------------------------------------------
W3Codec = whoosh3.W3Codec  # a subclass may set length_stats = False (see indexer.py)


def open_segment_writer(index, codec, *, hold_lock: bool = True,
                        **options) -> writing.SegmentWriter:
    """Whoosh's SegmentWriter with a codec of ours. hold_lock=False (Whoosh's private
    _lk) leaves the index's write lock alone: for a worker writing segments of its own
    while its parent holds the lock, as Whoosh's MpWriter does."""
    return writing.SegmentWriter(index, codec=codec, _lk=hold_lock, **options)


def finish_segment(writer: writing.SegmentWriter):
    """Write a writer's segment out without committing, and return it for another
    writer's add_segments (what MpWriter's workers return)."""
    return writer._finalize_segment()


def add_segments(writer: writing.SegmentWriter, segments: list) -> None:
    """Make segments finished by other writers part of what writer.commit() publishes."""
    writer.segments.extend(segments)
