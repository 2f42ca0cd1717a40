"""Data safety: scheduled backups with manifests, their rotation and copies
(:mod:`.take`), proof that one restores and the restore itself
(:mod:`.restore`). The tables are in :mod:`.tables`."""
