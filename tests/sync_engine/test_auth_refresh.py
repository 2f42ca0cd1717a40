"""``crossdock auth refresh CHANNEL``: a new access token now, through the shared store."""

from __future__ import annotations

import json

import pytest

from crossdock.connectors.tokens import SqlTokenStore
from crossdock.errors import AuthError
from crossdock.sync_engine.auth_refresh import refresh_channel_token
from tests.cli_run import crossdock
from tests.sync_engine.catalog_env import CHANNELS, catalog_env


def test_refresh_gets_a_new_token_for_every_platform_and_never_prints_it(sqlite_db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        store = SqlTokenStore(env.db)
        docs = {}
        for name in CHANNELS:
            before = store.load(name).access_token
            docs[name] = refresh_channel_token(env.cfg, env.db, name)
            after = store.load(name)
            assert after.access_token and after.access_token != before
            assert docs[name]["refreshed"] and docs[name]["access_expires_at"]
        # the command, as a user runs it: one JSON document, no secret in it
        proc = crossdock("--config", str(env.config_path), "auth", "refresh", "shopify-eu", "--json",
                         env={**env.env, "CROSSDOCK_DATABASE_URL": None})
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        token = store.load("shopify-eu").access_token
        assert doc["channel"] == "shopify-eu" and token and token not in proc.stdout + proc.stderr


def test_a_revoked_refresh_token_is_an_auth_error_with_its_code(sqlite_db, tmp_path, monkeypatch):
    with catalog_env(tmp_path, monkeypatch, sqlite_db) as env:
        env.sb.sims["ebay"].auth_scenario("revoke_refresh_token", None)
        with pytest.raises(AuthError) as info:
            refresh_channel_token(env.cfg, env.db, "ebay-uk")
        assert info.value.code == "XD-AUTH-002"
