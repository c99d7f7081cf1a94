"""Monographs -> section documents -> a new index generation, swapped in atomically."""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from ..corpus.documents import section_documents
from ..corpus.drugnames import NameLinker, compact_names, dictionary_version, full_names
from ..corpus.facts import drug_facts
from ..corpus.files import check_file, corpus_files, read_file
from ..corpus.models import Monograph
from ..corpus.parsing import read_monograph
from ..corpus.reviews import Reviews, load_reviews
from ..corpus.vocabulary import DATA_DIR, Vocabulary, default_vocabulary
from ..errors import CorpusNotFound, MonographError, MonosearchError, StorageError
from . import adapter, parallel, store
from .schema import SCHEMA_VERSION, build_schema

log = logging.getLogger(__name__)

WRITER_TIMEOUT_SECONDS = 10.0  # we hold our own lock, so Whoosh's is never contended
WRITER_LIMIT_MB = 256

Progress = Callable[[int, int], None]


class IndexCodec(adapter.W3Codec):
    """Whoosh's default codec without per-block length statistics. Writing them reads
    every posting's field length back from disk (a third of a full build's time); they
    only let Whoosh's own top-N collector skip blocks, and ranking is done by
    search/scoring.py. Readers need nothing special: the files are W3's."""

    length_stats = False


class BaseIndexDamaged(MonosearchError):
    """The live generation cannot be opened for an incremental build."""


@dataclass
class ReindexReport:
    generation: str | None = None  # None: nothing changed, no new generation
    monographs: int = 0  # in the index after this run
    sections: int = 0
    added: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0
    full: bool = False
    errors: list[MonographError] = field(default_factory=list)
    seconds: float = 0.0


def vocabulary_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(DATA_DIR.glob("*.json")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def reindex(corpus_dir: Path, index_dir: Path, *, full: bool = False, wait: float = 0.0,
            progress: Progress | None = None, vocabulary: Vocabulary | None = None,
            workers: int | None = None) -> ReindexReport:
    """Bring the index in step with the corpus folder. Only changed files are parsed
    and rewritten unless ``full``; the result becomes live atomically. ``workers``:
    processes for a large batch (default: MONOSEARCH_INDEX_WORKERS, else up to 2)."""
    started = time.perf_counter()
    if not corpus_dir.is_dir():
        raise CorpusNotFound(f"corpus folder not found: {corpus_dir}")
    vocabulary = vocabulary or default_vocabulary()
    try:
        with store.reindex_lock(index_dir, wait):
            store.collect_garbage(index_dir)
            try:
                report = _run(corpus_dir, index_dir, full, progress, vocabulary, workers)
            except BaseIndexDamaged as err:
                log.warning("%s; rebuilding in full", err)
                store.collect_garbage(index_dir)
                report = _run(corpus_dir, index_dir, True, progress, vocabulary, workers)
    except OSError as err:  # a full disk, a read-only folder, no permission
        where = err.filename or index_dir
        raise StorageError(f"cannot write {where}: {err.strerror or err}; the index "
                           "is unchanged") from None
    report.seconds = time.perf_counter() - started
    return report


def _run(corpus_dir: Path, index_dir: Path, full: bool, progress: Progress | None,
         vocabulary: Vocabulary, workers: int | None) -> ReindexReport:
    """One reindex under the lock: scan, parse what changed, write and publish."""
    base, previous = _incremental_base(index_dir, full)
    old = previous.get("monographs", {})
    report = ReindexReport(full=base is None)
    reviews = load_reviews(corpus_dir)
    report.errors.extend(reviews.problems)  # reported; the monographs are still indexed
    files, entries = _scan(corpus_dir, report, old)
    # A file is indexed again when it changed, moved, or its review entry changed.
    changed = {slug: file for slug, file in files.items()
               if old.get(slug, {}).get("hash") != entries[slug]["hash"]
               or old[slug].get("path") != entries[slug]["path"]
               or old[slug].get("review") != reviews.fingerprint(slug)}
    removed = [slug for slug in old if slug not in files]
    for slug in files.keys() - changed.keys():  # keep what was learnt, with today's stat
        entries[slug] = {**old[slug], "size": entries[slug]["size"],
                         "mtime_ns": entries[slug]["mtime_ns"]}
    jobs = [(slug, file, entries[slug]["path"]) for slug, file in sorted(changed.items())]
    report.unchanged = len(entries) - len(jobs)
    generation = None
    if jobs or removed or base is None:
        generation = _write_generation(corpus_dir, index_dir, base, previous, jobs, removed,
                                       entries, vocabulary, reviews, report, progress,
                                       parallel.worker_count(len(jobs), workers))
    if generation is None:
        report.generation = base
    else:
        report.generation = generation
        store.collect_garbage(index_dir)
    report.errors.sort(key=lambda error: error.path)
    report.monographs = len(entries)
    report.sections = sum(entry["sections"] for entry in entries.values())
    return report


def _incremental_base(index_dir: Path, full: bool) -> tuple[str | None, dict]:
    """(generation to start from, its manifest) or (None, {}) for a full build: the live
    generation, or when its files do not match their checksums the newest generation
    that is intact. A damaged index, an older schema, a changed vocabulary or drug
    dictionary forces a full build."""
    if full:
        return None, {}
    try:
        current = store.current_generation(index_dir)
    except Exception:  # noqa: BLE001 - a damaged pointer means: rebuild from scratch
        return None, {}
    if current is None:
        return None, {}
    for name in [current] + [g for g in reversed(store.list_generations(index_dir))
                             if g != current]:
        try:
            manifest = store.read_manifest(index_dir / name)
        except Exception:  # noqa: BLE001 - any damage means: try an older one
            continue
        problem = store.damage(index_dir / name, manifest)
        if problem is not None:
            log.warning("generation %s is damaged (%s); not building on it", name, problem)
            continue
        if (manifest.get("schema_version") != SCHEMA_VERSION
                or manifest.get("vocabulary") != vocabulary_fingerprint()
                or manifest.get("dictionary") != dictionary_version()):
            return None, {}
        return name, manifest
    return None, {}


def _scan(corpus_dir: Path, report: ReindexReport, old: dict[str, dict]
          ) -> tuple[dict[str, Path], dict[str, dict]]:
    """Every monograph file by slug, with its hash; a repeated slug is an error for the
    second file in path order. A file whose path, size and modification time (ns) are
    those recorded last time keeps its recorded hash without being read, as git and
    rsync do: an incremental run over 10,000 unchanged files then reads none."""
    files: dict[str, Path] = {}
    entries: dict[str, dict] = {}
    found, unreadable = corpus_files(corpus_dir)
    report.errors.extend(unreadable)
    for file in found:
        slug = file.stem
        shown = str(file)
        if slug in files:
            report.errors.append(MonographError(shown, f"duplicate slug {slug!r} "
                                                       f"(also {files[slug]})"))
            continue
        try:
            stat = check_file(file, shown, corpus_dir)
            known = old.get(slug, {})
            if (known.get("path"), known.get("size"), known.get("mtime_ns")) == (
                    shown, stat.st_size, stat.st_mtime_ns):
                digest = known["hash"]
            else:
                digest = hashlib.sha256(read_file(file, shown, corpus_dir)).hexdigest()
        except MonographError as err:
            report.errors.append(err)
            continue
        files[slug] = file
        entries[slug] = {"path": shown, "hash": digest, "sections": 0,
                         "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return files, entries


def open_writer(index, limitmb: int = WRITER_LIMIT_MB, **options):
    """A Whoosh writer as every build uses it (parallel workers pass hold_lock=False)."""
    # compound=False: Whoosh copies each part of a compound segment file into memory
    # when it opens it (240 MB private per server process at 70k sections).
    return adapter.open_segment_writer(index, IndexCodec(), limitmb=limitmb, compound=False,
                                       **options)


def add_monograph(writer, monograph: Monograph, vocabulary: Vocabulary,
                  names: NameLinker, reviews: Reviews) -> dict:
    """Write one monograph's section documents; returns its manifest fields."""
    facts = drug_facts(monograph, vocabulary)
    linked = names(monograph.title)
    for document in section_documents(monograph, vocabulary, facts, linked["ids"],
                                      reviews.shown(monograph.slug)):
        store.crash_point("writing")
        writer.add_document(**document)
    return {"title": monograph.title, "brands": list(monograph.brands),
            "sections": len(monograph.sections), "indications": facts["indications"],
            "drug_class": facts["drug_class"], "names": linked,
            # The hash of the bytes indexed, which a file rewritten since the scan
            # read differ from: the next reindex then sees the change.
            "hash": monograph.content_hash, "review": reviews.fingerprint(monograph.slug)}


def _write_generation(corpus_dir: Path, index_dir: Path, base: str | None, previous: dict,
                      jobs: list[tuple[str, Path, str]],
                      removed: list[str], entries: dict[str, dict], vocabulary: Vocabulary,
                      reviews: Reviews, report: ReindexReport, progress: Progress | None,
                      workers: int) -> str | None:
    """Parse and write the changed monographs into a new generation and publish it;
    None when nothing was written (every changed file was rejected)."""
    name = store.generation_name(store.next_generation_number(index_dir))
    tmp = store.start_generation(index_dir, name, base)
    try:
        return _build(corpus_dir, index_dir, base, previous, jobs, removed, entries,
                      vocabulary, reviews, report, progress, workers, name, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a failed build leaves nothing behind
        raise


def _build(corpus_dir: Path, index_dir: Path, base: str | None, previous: dict,
           jobs: list[tuple[str, Path, str]], removed: list[str], entries: dict[str, dict],
           vocabulary: Vocabulary, reviews: Reviews, report: ReindexReport,
           progress: Progress | None, workers: int, name: str, tmp: Path) -> str | None:
    """_write_generation's work in the build folder ``tmp``."""
    if base is None:
        index = whoosh_index.create_in(str(tmp), build_schema())
    else:
        try:
            index = whoosh_index.open_dir(str(tmp))
        except Exception as err:  # noqa: BLE001 - Whoosh raises many kinds on damage
            raise BaseIndexDamaged(f"generation {base} cannot be opened ({err})") from None
    old_entries = previous.get("monographs", {})
    old_table = previous.get("names", {})
    names = NameLinker(vocabulary, {entry["title"]: full_names(entry["names"], old_table)
                                    for entry in old_entries.values()
                                    if "names" in entry and "title" in entry})
    writer = open_writer(index, timeout=WRITER_TIMEOUT_SECONDS)
    try:
        for slug in removed:
            writer.delete_by_term("drug", slug)
        for slug, _, _ in jobs:  # a changed file's old sections go, parsed or not
            if slug in old_entries:
                writer.delete_by_term("drug", slug)
        if workers > 1:
            segments, built, errors = parallel.build_segments(tmp, jobs, vocabulary, names,
                                                              reviews, workers, corpus_dir)
            adapter.add_segments(writer, segments)
            if progress:
                progress(len(jobs), len(jobs))
        else:
            built, errors = {}, []
            for done, (slug, file, shown) in enumerate(jobs, start=1):
                store.crash_point("parsing")
                try:
                    built[slug] = add_monograph(writer, read_monograph(file, shown,
                                                                       root=corpus_dir),
                                                vocabulary, names, reviews)
                except MonographError as err:
                    errors.append(err)
                if progress:
                    progress(done, len(jobs))
        _account(report, built, errors, old_entries, removed, entries)
        if base is not None and not built and not removed:
            writer.cancel()
            shutil.rmtree(tmp, ignore_errors=True)
            return None
        store.crash_point("committing")
        # One segment per worker is kept as it is: merging them would rewrite everything.
        writer.commit(optimize=base is None and workers == 1, merge=workers == 1)
        store.crash_point("committed")
    except BaseException:
        writer.cancel()
        raise
    finally:
        index.close()
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "vocabulary": vocabulary_fingerprint(),
        "dictionary": dictionary_version(),
        "generation": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "monographs": entries,
        "names": _names_table(entries, built, old_table),
    }
    return store.publish_generation(index_dir, tmp, name, manifest, previous.get("files"))


def _names_table(entries: dict[str, dict], built: dict[str, dict], old: dict[str, list]
                 ) -> dict[str, list]:
    """Ingredient id -> its aliases, once for the generation: the monographs' entries
    keep only their ids and the names of the whole product (paracetamol's thirty names
    once, not in each of its hundreds of combinations)."""
    table: dict[str, list] = {}
    for slug, entry in entries.items():
        names = entry.get("names")
        if not names:
            continue
        if slug in built:
            entry["names"], found = compact_names(names)
            for ingredient, aliases in found.items():
                known = table.setdefault(ingredient, list(old.get(ingredient, [])))
                known += [alias for alias in aliases if alias not in known]
        else:
            for ingredient in names["ids"]:
                if ingredient not in table and ingredient in old:
                    table[ingredient] = list(old[ingredient])
    return table


def _account(report: ReindexReport, built: dict[str, dict], errors: list[MonographError],
             old: dict[str, dict], removed: list[str], entries: dict[str, dict]) -> None:
    """Fold what was written and what was rejected into the report and the manifest."""
    report.errors.extend(errors)
    for error in errors:
        slug = Path(error.path).stem
        entries.pop(slug, None)
        if slug in old:
            removed.append(slug)
    for slug, info in built.items():
        entries[slug].update(info)
    report.added = sum(1 for slug in built if slug not in old)
    report.changed = len(built) - report.added
    report.deleted = len(removed)
    report.unchanged = len(entries) - len(built)
