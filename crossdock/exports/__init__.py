"""``crossdock export orders|customers|products|listings|stock``: the seller's
data as CSV or JSON, streamed (constant memory however many rows): rows are
read a page at a time in key order (keyset paging, the same on SQLite and
PostgreSQL) and written one by one. The columns are :data:`.kinds.KINDS`,
documented in docs/exports.md."""
