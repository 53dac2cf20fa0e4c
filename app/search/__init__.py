"""Search and duplicate detection: one port, two backends (embedded default, Meilisearch).

Writes never call a backend: a flush hook records changed question ids in the outbox
(`search_outbox`) in the same transaction; `app.search.outbox.drain` rebuilds those documents
from the current database state and hands them to the backend. See docs/search.md.
"""
