"""The SQL token store: one refresh across threads and processes, rotating
refresh tokens never reused, tokens encrypted at rest."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import threading

from sqlalchemy import select

from crossdock.config import ChannelConfig
from crossdock.connectors.base import RefreshResult
from crossdock.connectors.tokens import SqlTokenStore, ensure_channels
from crossdock.db.engine import Database
from crossdock.db.models import Credential, SyncEvent

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)


def setup_channel(db):
    ensure_channels(db, [ChannelConfig(name="shop-eu", platform="shopify", account="shop1", currency="EUR")])
    store = SqlTokenStore(db)
    store.seed_refresh_token("shop-eu", "rt-0")
    return store


def _needs(state):
    return not state.access_valid(NOW, margin_s=60)


def _rotate(db_url: str, calls_path: str) -> None:
    """Refresh the way a Shopify connector does: the refresh token rotates on every use."""
    database = Database(db_url)
    store = SqlTokenStore(database)

    def fn(state):
        # record which refresh token was sent; a reused one would show up twice
        with open(calls_path, "a") as f:
            f.write(state.refresh_token + "\n")
        n = int(state.refresh_token.split("-")[1]) + 1
        return RefreshResult(access_token=f"at-{n}", access_expires_at=NOW + dt.timedelta(hours=1),
                             refresh_token=f"rt-{n}")

    try:
        store.refresh("shop-eu", fn, still_needed=_needs)
    finally:
        database.dispose()


def test_concurrent_refreshes_across_processes_refresh_once(db, tmp_path):
    store = setup_channel(db)
    calls = tmp_path / "calls.txt"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_rotate, args=(db.url, str(calls))) for _ in range(4)]
    for p in procs:
        p.start()
    threads = [threading.Thread(target=_rotate, args=(db.url, str(calls))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    # Then exactly one refresh happened, with the original refresh token
    assert calls.read_text().split() == ["rt-0"]
    state = store.load("shop-eu")
    assert (state.access_token, state.refresh_token) == ("at-1", "rt-1")


def test_tokens_are_encrypted_at_rest(db):
    store = setup_channel(db)
    store.refresh("shop-eu", lambda s: RefreshResult("at-secret-value", NOW + dt.timedelta(hours=1), "rt-9"),
                  still_needed=_needs)
    with db.read() as s:
        row = s.scalars(select(Credential)).one()
        raw = f"{row.access_token_enc} {row.refresh_token_enc}"
        assert s.scalars(select(SyncEvent)).all() == []
    assert "at-secret-value" not in raw and "rt-9" not in raw
    assert store.load("shop-eu").access_token == "at-secret-value"


def test_a_failed_refresh_keeps_the_old_tokens(db):
    store = setup_channel(db)

    def boom(state):
        raise RuntimeError("token endpoint down")

    try:
        store.refresh("shop-eu", boom, still_needed=_needs)
    except RuntimeError:
        pass
    assert store.load("shop-eu").refresh_token == "rt-0"


def test_config_refresh_token_does_not_overwrite_a_rotated_one(db):
    store = setup_channel(db)
    store.refresh("shop-eu", lambda s: RefreshResult("at-1", NOW + dt.timedelta(hours=1), "rt-1"),
                  still_needed=_needs)
    store.seed_refresh_token("shop-eu", "rt-0")
    assert store.load("shop-eu").refresh_token == "rt-1"


def test_expiring_credentials_are_reported(db):
    store = setup_channel(db)
    state = store.load("shop-eu")
    from dataclasses import replace

    store.save(replace(state, authorisation_expires_at=NOW + dt.timedelta(days=10),
                       client_secret_expires_at=NOW + dt.timedelta(days=200)))
    soon = store.expiring(within=dt.timedelta(days=30), now=NOW)
    assert [(x["channel"], x["what"], x["expired"]) for x in soon] == [("shop-eu", "seller_authorisation", False)]


def test_workers_starting_together_create_the_channel_rows_once(db):
    """Given a new database and several workers starting at the same moment,
    when each creates the configured channels' rows,
    then none fails on another's insert and each row exists once, up to date."""
    import threading

    from sqlalchemy import func, select

    from crossdock.config import ChannelConfig
    from crossdock.connectors.tokens import ensure_channels
    from crossdock.db.models import Channel

    channels = [ChannelConfig(name=f"shop-{i}", platform="shopify", account=f"shop{i}", currency="EUR")
                for i in range(8)]
    for round_ in range(3):
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def start() -> None:
            barrier.wait()
            try:
                ensure_channels(db, channels)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Channel)) == 8
        assert s.get(Channel, "shop-3").account == "shop3"


def test_load_sees_what_another_worker_stored_at_once(db):
    # Given a worker that loaded the tokens (load remembers what it decrypted)
    mine = setup_channel(db)
    mine.refresh("shop-eu", lambda s: RefreshResult("at-1", NOW + dt.timedelta(hours=1), "rt-1"), still_needed=_needs)
    assert (mine.load("shop-eu").access_token, mine.load("shop-eu").refresh_token) == ("at-1", "rt-1")
    # When another worker (its own store, as in another process) refreshes them
    other = SqlTokenStore(db)
    other.refresh("shop-eu", lambda s: RefreshResult("at-2", NOW + dt.timedelta(hours=1), "rt-2"),
                  still_needed=lambda s: True)
    # Then the first worker's next load gives the new tokens and version, not the ones it decrypted before
    state = mine.load("shop-eu")
    assert (state.access_token, state.refresh_token, state.version) == ("at-2", "rt-2", other.load("shop-eu").version)
    # And a revocation written to the row (no tokens left) is seen at once too
    with db.write() as s:
        row = s.get(Credential, "shop-eu")
        row.access_token_enc = row.refresh_token_enc = None
    gone = mine.load("shop-eu")
    assert (gone.access_token, gone.refresh_token) == (None, None)
