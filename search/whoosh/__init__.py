"""The embedded backend: schema, indexer and its workers, generations on disk, snapshots,
postings, scoring, the facet table and highlighting. The only package that imports
whoosh."""
