"""``crossdock config rotate-key``: every secret crossdock encrypted, under a new key.

What is encrypted: the tokens in the ``credentials`` table (access and refresh
token per channel) and the ``{encrypted = "…"}`` values of the configuration
file. The rotation, for a key file (``[secrets] key_file``):

1. the key file is rewritten (atomically, mode 0600) with the new key first
   and the old one after it: from then on every crossdock process encrypts
   with the new key and still decrypts with either (:mod:`crossdock.secrets`
   reads the file on every use, so running workers follow);
2. each stored token is re-encrypted (``MultiFernet.rotate``), one short
   transaction per channel, holding the row as a token refresh does;
3. the configuration file's encrypted values are re-encrypted (written to a
   new file, then renamed over it, its mode kept);
4. the old key is copied to ``KEYFILE.old`` (mode 0600: backups made before
   the rotation need it) and the key file keeps only the new key.

Interrupted anywhere, the key file still holds both keys, so everything still
decrypts, and running the command again finishes the same rotation (it takes
the first key of the file as the new one instead of making another). With
``--new-key-file FILE`` a run is idempotent: a second run finds everything
already under that key and changes nothing.

With ``CROSSDOCK_SECRET_KEY`` crossdock cannot change the variable of other
processes: the new key goes to a file (``--new-key-file``, default
``crossdock.key.new`` beside the configuration, made 0600 when missing, reused
when present) and the result says what to set. Workers that run through the
rotation need ``CROSSDOCK_SECRET_KEY=NEW,OLD`` (both keys, new first) — set
that first, then rotate, then set ``NEW`` alone.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select

from crossdock import secrets
from crossdock.errors import ConfigError

__all__ = ["DEFAULT_NEW_KEY_FILE", "rotate_key"]

log = logging.getLogger(__name__)

DEFAULT_NEW_KEY_FILE = "crossdock.key.new"
_HEADER = ("# crossdock secret key. Rotation in progress (`crossdock config rotate-key`): the first key\n"
           "# encrypts, the ones after it still decrypt until the rotation finishes.\n")


def _write_private(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` atomically (a new file, fsynced, renamed over it)."""
    part = path.with_name(f".{path.name}.rotate-part")
    part.unlink(missing_ok=True)
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(part, path)


def _retired_file(key_file: Path, old_keys: list[str]) -> Path:
    """Where the old keys go: ``KEYFILE.old`` (``.old-1``… when taken by other
    keys; the file already holding exactly these keys when a run is repeated)."""
    candidate, n = key_file.with_name(key_file.name + ".old"), 1
    while candidate.exists():
        try:
            if secrets.read_keys(candidate) == old_keys:
                return candidate
        except ConfigError:
            pass
        candidate = key_file.with_name(f"{key_file.name}.old-{n}")
        n += 1
    return candidate


def _new_key(given: Path | None, current: list[str], *, from_env: bool,
             config_dir: Path) -> tuple[str, str, Path | None]:
    """The key to rotate to, where it came from, and the file holding it (if any)."""
    if given is None and len(current) > 1:
        return current[0], "the first of the keys in use (a rotation in progress is finished)", None
    if given is None and not from_env:
        return secrets.new_key(), "generated", None
    path = given if given is not None else config_dir / DEFAULT_NEW_KEY_FILE
    if path.exists():
        return secrets.read_key_file(path), f"read from {path}", path
    try:
        return secrets.write_key_file(path), f"generated and written to {path} (mode 0600)", path
    except OSError as exc:
        raise ConfigError("XD-CFG-009", detail=f"cannot write the new key to {path}: {exc.strerror}") from exc


def _rotate_value(ring: MultiFernet, new: Fernet, value: str, what: str) -> str | None:
    """``value`` under the new key, or ``None`` when it already is."""
    try:
        new.decrypt(value.encode())
        return None
    except InvalidToken:
        pass
    try:
        return ring.rotate(value.encode()).decode()
    except InvalidToken as exc:
        raise ConfigError("XD-CFG-005", detail=f"{what} decrypts with none of the keys (neither the new one "
                                               "nor the current ones): it was encrypted with another key; "
                                               "the rotation stopped, the current keys still work") from exc


def _rotate_tokens(db: Any, ring: MultiFernet, new: Fernet) -> dict[str, int]:
    from sqlalchemy import inspect

    from crossdock.db.models import Credential

    counts = {"re_encrypted": 0, "already_new": 0}
    if "credentials" not in inspect(db.engine).get_table_names():
        return counts
    with db.read() as s:
        channels = list(s.scalars(select(Credential.channel)))
    for channel in channels:
        with db.write() as s:      # one channel at a time, holding its row as a refresh does
            row = s.scalars(select(Credential).where(Credential.channel == channel).with_for_update()).one_or_none()
            if row is None:
                continue
            for attr, what in (("access_token_enc", "access token"), ("refresh_token_enc", "refresh token")):
                value = getattr(row, attr)
                if not value:
                    continue
                rotated = _rotate_value(ring, new, value, f"the stored {what} of channel {channel}")
                if rotated is None:
                    counts["already_new"] += 1
                else:
                    setattr(row, attr, rotated)
                    counts["re_encrypted"] += 1
    return counts


def _encrypted_values(raw: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every ``{encrypted = "…"}`` value in a parsed configuration, with its key path."""
    if isinstance(raw, dict):
        value = raw.get("encrypted")
        if isinstance(value, str) and value:
            yield where, value
        for key, item in raw.items():
            yield from _encrypted_values(item, f"{where}.{key}" if where else str(key))
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            yield from _encrypted_values(item, f"{where}[{i}]")


def _rotate_config(path: Path | None, ring: MultiFernet, new: Fernet) -> dict[str, int]:
    counts = {"re_encrypted": 0, "already_new": 0}
    if path is None or not path.exists():
        return counts
    text = path.read_text(encoding="utf-8")
    changed = text
    for where, value in _encrypted_values(tomllib.loads(text)):
        rotated = _rotate_value(ring, new, value, f"{path}: {where}")
        if rotated is None:
            counts["already_new"] += 1
        else:
            changed = changed.replace(value, rotated)     # a Fernet token is unique in the file
            counts["re_encrypted"] += 1
    if changed != text:
        _write_private(path, changed, mode=stat.S_IMODE(path.stat().st_mode))
    return counts


def rotate_key(cfg: Any, db: Any, *, new_key_file: Path | None = None) -> dict[str, Any]:
    """Re-encrypt every stored token and encrypted configuration value under a
    new key (see the module's description); returns what was done and what
    the operator still has to do."""
    from_env = bool(os.environ.get(secrets.KEY_ENV))
    key_file = None if from_env else cfg.key_file
    current = secrets.keys()               # XD-CFG-005 when there is no key at all
    config_dir = Path(cfg.path).resolve().parent if cfg.path else Path.cwd()
    new_key, came_from, new_path = _new_key(new_key_file, current, from_env=from_env, config_dir=config_dir)
    ring_keys = [new_key] + [k for k in current if k != new_key]
    ring = secrets.keyring(ring_keys)
    new = Fernet(new_key.encode())
    if key_file is not None and secrets.read_keys(key_file) != ring_keys:
        _write_private(key_file, _HEADER + "\n".join(ring_keys) + "\n")          # step 1: both keys decrypt
    tokens = _rotate_tokens(db, ring, new)                                       # step 2
    config_values = _rotate_config(Path(cfg.path) if cfg.path else None, ring, new)   # step 3
    # a token refresh that encrypted before step 1 commits before step 2 reaches its row (both hold
    # it); one more pass proves nothing under an old key is left before the old key is dropped
    for _ in range(3):
        again = _rotate_tokens(db, ring, new)["re_encrypted"]
        if not again:
            break
        log.info("key rotation: %d token(s) written under the old key meanwhile, re-encrypted", again)
    doc: dict[str, Any] = {"key_source": secrets.KEY_ENV if from_env else f"key file {key_file}",
                           "new_key": came_from, "stored_tokens": tokens, "config_secrets": config_values,
                           "retired_keys_file": None, "next": []}
    old_keys = ring_keys[1:]
    if key_file is not None:                                                     # step 4
        if old_keys:
            retired = _retired_file(key_file, old_keys)
            _write_private(retired, "# retired crossdock secret key(s): only for backups made before "
                                    "the rotation\n" + "\n".join(old_keys) + "\n")
            doc["retired_keys_file"] = str(retired)
            _write_private(key_file, new_key + "\n")
        doc["next"].append(f"nothing to change: {key_file} holds the new key; crossdock processes use it "
                           "from their next secret read")
        if old_keys:
            doc["next"].append(f"{doc['retired_keys_file']} holds the old key, for restoring backups made "
                               "before now; delete it when you no longer need them")
    else:
        where = f"the key in {new_path}" if new_path is not None else "the first key of CROSSDOCK_SECRET_KEY alone"
        doc["next"].append(f"set CROSSDOCK_SECRET_KEY to {where} for every crossdock process and restart the "
                           "workers (or name that file in [secrets] key_file and unset the variable)")
        if old_keys:
            doc["next"].append("until every process has the new key, CROSSDOCK_SECRET_KEY=NEW,OLD lets each "
                               "read secrets under either key")
    doc["done"] = True
    return doc
