"""The catalogue and the listings that already exist on the platforms.

- :mod:`.columns` — the catalogue file format and one check per column (pure);
- :mod:`.importer` — ``catalog import``: stream, check, write in batches, all or nothing;
- :mod:`.export` — ``catalog export``, ``catalog show``, ``catalog list``;
- :mod:`.listings` — ``listings pull``, ``listings list``, ``listings link``;
- :mod:`.cli` — the two Typer command groups (thin: they print the documents the
  domain functions return).
"""
