"""The reference engine: the same sections in SQLite FTS5 (stdlib sqlite3), queried the
way a team would without us: bm25 ranking with column weights, snippet() highlights,
and facet counts by GROUP BY over the matching rows.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from search.corpus.facts import drug_facts
from search.corpus.parsing import iter_corpus
from search.corpus.vocabulary import default_vocabulary

# bm25 weights per column, as our BM25F field boosts
WEIGHTS = (4.0, 2.0, 1.0)  # drug_name, heading, body

_WORD_RE = re.compile(r"\w+")


def build_fts5(corpus: Path, path: Path | str = ":memory:") -> sqlite3.Connection:
    """One row per section; facet values in plain tables joined by rowid."""
    db = sqlite3.connect(str(path), check_same_thread=False)
    db.executescript("""
        CREATE VIRTUAL TABLE sections USING fts5(drug_name, heading, body,
            tokenize = 'porter unicode61');
        CREATE TABLE meta (id INTEGER PRIMARY KEY, drug TEXT, section TEXT);
        CREATE TABLE indications (id INTEGER, value TEXT);
        CREATE INDEX meta_drug ON meta(drug);
        CREATE INDEX indications_id ON indications(id);
    """)
    vocabulary = default_vocabulary()
    rowid = 0
    for monograph in iter_corpus(corpus):
        if isinstance(monograph, Exception):
            continue
        facts = drug_facts(monograph, vocabulary)
        for section in monograph.sections:
            rowid += 1
            db.execute("INSERT INTO sections(rowid, drug_name, heading, body) VALUES "
                       "(?, ?, ?, ?)", (rowid, monograph.title, section.heading, section.text))
            db.execute("INSERT INTO meta VALUES (?, ?, ?)", (rowid, monograph.slug,
                                                             section.type))
            db.executemany("INSERT INTO indications VALUES (?, ?)",
                           [(rowid, value) for value, _ in facts["indications"]])
    db.commit()
    return db


def fts5_query(text: str) -> str:
    """Words ANDed, each quoted so that no reader's text is FTS5 syntax."""
    return " AND ".join(f'"{word}"' for word in _WORD_RE.findall(text))


def search_fts5(db: sqlite3.Connection, text: str, page: int = 1, per_page: int = 10
                ) -> dict:
    """Top hits with snippets and the three facet counts, like our API body."""
    match = fts5_query(text)
    if not match:
        return {"total": 0, "results": [], "facets": {}}
    offset = (page - 1) * per_page
    rows = db.execute(
        "SELECT rowid, snippet(sections, 2, '<mark>', '</mark>', ' … ', 24), "
        f"bm25(sections, {', '.join(map(str, WEIGHTS))}) AS rank FROM sections "
        "WHERE sections MATCH ? ORDER BY rank LIMIT ? OFFSET ?",
        (match, per_page, offset)).fetchall()
    matched = "SELECT rowid FROM sections WHERE sections MATCH ?"
    total = db.execute(f"SELECT count(*) FROM ({matched})", (match,)).fetchone()[0]
    facets = {
        "drug": db.execute(f"SELECT drug, count(*) FROM meta WHERE id IN ({matched}) "
                           "GROUP BY drug ORDER BY 2 DESC", (match,)).fetchall(),
        "section": db.execute(f"SELECT section, count(*) FROM meta WHERE id IN ({matched}) "
                              "GROUP BY section ORDER BY 2 DESC", (match,)).fetchall(),
        "indication": db.execute(f"SELECT value, count(*) FROM indications WHERE id IN "
                                 f"({matched}) GROUP BY value ORDER BY 2 DESC",
                                 (match,)).fetchall(),
    }
    return {"total": total, "results": rows, "facets": facets}
