"""The Typesense backend: client, server helpers, sync and backend. Never imports
search.whoosh."""
