"""Limits every layer shares, in a module that imports nothing (the dump reader process,
app.importer.reader, loads the Markdown renderer and not the database layer)."""

# Primary keys are 32-bit integers (PostgreSQL INTEGER): larger ids cannot exist and cannot be bound.
MAX_ID = 2**31 - 1
