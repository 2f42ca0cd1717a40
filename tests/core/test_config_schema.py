"""The configuration schema: it validates every key the code reads, names the
file and the key in every problem, and is the one source of the reference."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from pathlib import Path

import pytest

from crossdock import config, secrets
from crossdock.cli import main
from crossdock.config_keys import SCHEMA, reference_markdown
from crossdock.config_options import CHANNEL_PROVIDED, NOT_OPTIONS, PLATFORM_OPTIONS
from crossdock.config_schema import NO_DEFAULT, flatten
from crossdock.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

CHANNEL = '[channels.x]\nplatform = "{platform}"\naccount = "A"\ncurrency = "EUR"\n'


def write(tmp_path, text):
    path = tmp_path / "crossdock.toml"
    path.write_text(text)
    return path


def problems_of(tmp_path, text):
    cfg, problems = config.read(write(tmp_path, text), env={})
    return cfg, [(p.code, p.detail) for p in problems]


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("text, code, fragment, known", [
    ('[sync]\nauto_shipp = true\n', "XD-CFG-003", "sync.auto_shipp: unknown key", "auto_ship"),
    (CHANNEL.format(platform="amazon") + "options = {feed_treshold = 5}\n", "XD-CFG-003",
     "channels.x.options.feed_treshold: unknown key", "feed_threshold"),
    # a key of another platform is unknown on this one
    (CHANNEL.format(platform="shopify") + 'options = {dev_id = "d"}\n', "XD-CFG-003",
     "channels.x.options.dev_id: unknown key", "api_version"),
    (CHANNEL.format(platform="ebay") + "stock = {bufer = 2}\n", "XD-CFG-003",
     "channels.x.stock.bufer: unknown key", "buffer"),
    (CHANNEL.format(platform="ebay") + 'price = {mark_up = "1.1"}\n', "XD-CFG-003",
     "channels.x.price.mark_up: unknown key", "markup"),
    (CHANNEL.format(platform="ebay") + 'urls = {trade_url = "http://x.test"}\n', "XD-CFG-003",
     "channels.x.urls.trade_url: unknown key", "trading_url"),
    ('[sandbox.carrier]\nfailure = 0.1\n', "XD-CFG-003", "sandbox.carrier.failure: unknown key", "failure_rate"),
])
def test_unknown_keys_are_errors_naming_the_known_ones(tmp_path, text, code, fragment, known):
    _, problems = problems_of(tmp_path, text)
    assert len(problems) == 1, problems
    got_code, detail = problems[0]
    assert got_code == code and str(tmp_path / "crossdock.toml") in detail and fragment in detail
    assert known in detail.split("known:")[1]


@pytest.mark.parametrize("text, code, fragment", [
    ('[sync]\nstock_sweep_s = "30"\n', "XD-CFG-003", "sync.stock_sweep_s must be a whole number"),
    ('[sync]\nlease_s = 0\n', "XD-CFG-003", "sync.lease_s must be > 0"),
    ('[sync]\nheartbeat_s = 10\nworker_dead_after_s = 10\n', "XD-CFG-003", "worker_dead_after_s (10) must be longer"),
    ('[sync]\nreconcile = "yes"\n', "XD-CFG-003", "sync.reconcile must be true or false"),
    (CHANNEL.format(platform="ebay") + "options = {orders_page_size = 500}\n", "XD-CFG-003",
     "channels.x.options.orders_page_size must be 1 to 200"),
    (CHANNEL.format(platform="amazon") + 'options = {authorised_at = "last tuesday"}\n', "XD-CFG-003",
     "channels.x.options.authorised_at must be a date"),
    (CHANNEL.format(platform="amazon") + 'stock = {share = "1.5"}\n', "XD-CFG-003", "channels.x.stock.share"),
    (CHANNEL.format(platform="amazon") + 'price = {floor = "cheap"}\n', "XD-CFG-003", "channels.x.price.floor"),
    (CHANNEL.format(platform="amazon") + 'base_url = "sandbox"\n', "XD-CFG-003",
     "channels.x.base_url must be an http:// or https:// URL"),
    (CHANNEL.format(platform="amazon") + "trading_token = {env = 3}\n", "XD-CFG-003", "channels.x.trading_token"),
    (CHANNEL.format(platform="ebay") + 'trading_token = "AgAAAA-plain"\n', "XD-CFG-006", "channels.x.trading_token"),
    ('[ratelimit.plans."amazon.getOrders"]\nrate_per_s = 1\n', "XD-CFG-004",
     "ratelimit.plans.amazon.getOrders.burst is required"),
    ('[sandbox.clock]\ntime_scale = 10\norigin_platform = 1.0\n', "XD-CFG-004", "sandbox.clock.origin_real is required"),
    ('[rules.shipping]\nprinter_dpi = 600\n', "XD-CFG-003", "rules.shipping.printer_dpi must be one of 203, 300"),
    ('[rules.listings.nope.validation]\ntitle_max_chars = 80\n', "XD-CFG-003", "rules.listings.nope: no channel"),
    (CHANNEL.format(platform="ebay") + "[rules.listings.x.categories]\nmap = {Toys = \"\"}\n", "XD-CFG-003",
     "rules.listings.x.categories.map.Toys"),
    ('[secrets]\nkey_file = ""\n', "XD-CFG-003", "secrets.key_file must name a file"),
])
def test_bad_values_name_file_key_and_what_is_wrong(tmp_path, text, code, fragment):
    _, problems = problems_of(tmp_path, text)
    assert [c for c, _ in problems] == [code], problems
    assert str(tmp_path / "crossdock.toml") in problems[0][1] and fragment in problems[0][1]


def test_every_problem_is_reported_at_once_and_load_raises_the_first(tmp_path):
    # Given a file with four independent mistakes
    text = ('[sync]\ntick_s = -1\n[ratelimit]\ntime_scale = 0\n'
            '[channels.x]\nplatform = "etsy"\naccount = "A"\ncurrency = "EUR"\n'
            '[warehouses.DE]\nname = "Leipzig"\n')
    # When it is read, Then every one is listed with its key
    cfg, problems = problems_of(tmp_path, text)
    keys = [re.search(r"crossdock\.toml: ([\w.-]+)", d).group(1) for _, d in problems]
    assert sorted(keys) == ["channels.x.platform", "ratelimit.time_scale", "sync.tick_s", "warehouses.DE.country"]
    assert {c for c, _ in problems} == {"XD-CFG-003", "XD-CFG-004"}
    # and the Config still holds what was valid (config check goes on to the services)
    assert cfg is not None and cfg.sync["tick_s"] == 0.5 and cfg.time_scale == 1.0 and cfg.channels == {}
    # When a command loads it, Then the first problem stops it and says more are waiting
    with pytest.raises(ConfigError) as exc:
        config.load(tmp_path / "crossdock.toml", env={})
    assert "and 3 more problem(s)" in exc.value.detail and "crossdock config check" in exc.value.detail


def test_sync_is_a_plain_dict_with_every_default_filled_in(tmp_path):
    cfg = config.load(write(tmp_path, "[sync]\nauto_ship = true\nstuck_s = 600\n"), env={})
    assert type(cfg.sync) is dict
    declared = {row["key"].split(".", 1)[1]: row["default"] for row in flatten(SCHEMA) if row["key"].startswith("sync.")}
    assert set(cfg.sync) == set(declared)
    assert cfg.sync["auto_ship"] is True and cfg.sync["stuck_s"] == 600
    assert (cfg.sync["tick_s"], cfg.sync["heartbeat_s"], cfg.sync["worker_dead_after_s"], cfg.sync["housekeeping_s"],
            cfg.sync["reconcile"], cfg.sync["token_warning_days"]) == (0.5, 5.0, 30.0, 60, True, 30.0)


def test_channel_values_are_normalised_and_only_given_options_kept(tmp_path):
    text = (CHANNEL.format(platform="ebay").replace('"EUR"', '"gbp"') + 'country = "gb"\n'
            'options = {dev_id = "D", merchant_location_key = "default"}\nstock = {share = "0.5"}\n'
            "[channels.x.intervals_s]\norders = 10\n")
    ch = config.load(write(tmp_path, text), env={}).channel("x")
    assert (ch.currency, ch.country) == ("GBP", "GB")
    assert ch.options == {"dev_id": "D", "merchant_location_key": "default"}
    assert ch.stock == {"share": "0.5"} and ch.price == {}
    assert ch.intervals_s["orders"] == 10 and ch.intervals_s["reconcile"] == 3600


def test_relative_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(Path("/"))
    cfg = config.load(write(tmp_path, '[secrets]\nkey_file = "keys/k"\n[labels]\ndir = "out"\n'), env={})
    assert cfg.key_file == tmp_path / "keys" / "k" and Path(cfg.labels_dir) == tmp_path / "out"
    assert config.load(write(tmp_path, ""), env={}).labels_dir == str(tmp_path / "labels")


# ---------------------------------------------------------------- the schema covers what the code reads
def test_every_sync_key_the_code_reads_is_declared():
    # Given every `….sync.get("KEY"` / `sync.get("KEY"` in the package
    read = set()
    for path in (REPO / "crossdock").rglob("*.py"):
        read |= set(re.findall(r"\bsync\.get\(\s*[\"'](\w+)[\"']", path.read_text(encoding="utf-8")))
    declared = {row["key"][len("sync."):] for row in flatten(SCHEMA) if row["key"].startswith("sync.")}
    assert read and read <= declared, f"read but not declared: {sorted(read - declared)}"


@pytest.mark.parametrize("platform, settings_cls", [
    ("amazon", "crossdock.connectors.amazon.settings:AmazonSettings"),
    ("ebay", "crossdock.connectors.ebay.settings:EbaySettings"),
    ("shopify", "crossdock.connectors.shopify.settings:ShopifySettings"),
])
def test_channel_options_are_the_platform_settings_the_channel_table_does_not_set(platform, settings_cls):
    import importlib

    module, name = settings_cls.split(":")
    fields = {f.name: f for f in dataclasses.fields(getattr(importlib.import_module(module), name))}
    declared = {k.name: k for k in PLATFORM_OPTIONS[platform]}
    # every settings field is set by the channel table, declared as an option, or excluded with a reason
    assert set(fields) == CHANNEL_PROVIDED[platform] | set(declared) | set(NOT_OPTIONS[platform])
    assert not set(declared) & (CHANNEL_PROVIDED[platform] | set(NOT_OPTIONS[platform]))
    for key, spec in declared.items():
        f = fields[key]
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else NO_DEFAULT)
        if isinstance(default, tuple):
            default = list(default)
        if key == "carrier_overrides" and default == {}:
            default = None      # an empty table is no overrides
        assert spec.default == default, f"{platform} option {key}: schema {spec.default!r}, settings {default!r}"


def test_rule_tables_declare_the_keys_their_parsers_accept():
    from crossdock.mapping import categories, inventory_rules, pricing, validation
    from crossdock.sync_engine.jobs.listings import _LISTING_RULE_KEYS
    from crossdock.warehouse.shipping import ShippingOptions

    keys = {row["key"] for row in flatten(SCHEMA)}

    def under(prefix: str) -> set[str]:
        return {k[len(prefix) + 1:] for k in keys if k.startswith(prefix + ".") and "." not in k[len(prefix) + 1:]}

    assert under("channels.NAME.stock") == set(inventory_rules._KEYS)
    assert under("channels.NAME.price") == set(pricing._RULE_KEYS)
    assert under("rules.shipping") == {f.name for f in dataclasses.fields(ShippingOptions)}
    assert {k.split(".")[3] for k in keys if k.startswith("rules.listings.CHANNEL.")} == set(_LISTING_RULE_KEYS)
    assert under("rules.listings.CHANNEL.categories") == set(categories._KEYS)
    assert under("rules.listings.CHANNEL.validation") == set(validation._KEYS)
    assert under("rules.listings.CHANNEL.attributes") == {"passthrough", "rules"}
    assert under("sandbox.carrier") == {"seed", "failure_rate", "stall_rate", "time_scale", "stage_hours",
                                        "currency", "max_weight_g"}


def test_the_demo_configuration_is_valid(tmp_path):
    from crossdock.demo import DemoOptions, _write_config
    from crossdock.sandbox.core import Sandbox

    with Sandbox(time_scale=30) as sb:
        path = _write_config(tmp_path, sb.describe(), DemoOptions(), {})
    cfg = config.load(path, env={})
    assert len(cfg.channels) == 4 and cfg.sync["auto_ship"] is True and cfg.sandbox["clock"]["time_scale"] == 30


# ---------------------------------------------------------------- the reference cannot drift
def test_docs_configuration_md_is_the_generated_reference():
    committed = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), (
        "docs/configuration.md differs from the schema: run `crossdock config reference > docs/configuration.md`")


def test_config_reference_command_prints_it_and_needs_no_configuration(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CROSSDOCK_CONFIG", raising=False)
    assert main(["config", "reference"]) == 0
    assert capsys.readouterr().out == reference_markdown()
    assert main(["config", "reference", "--json"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)["keys"]
    assert {"key": "sync.tick_s", "type": "number", "required": False, "default": 0.5, "allowed": "> 0",
            "secret": False, "unit": "platform seconds",
            "description": "Shortest time between looks of `crossdock worker`'s scheduler loop at due schedules "
                           "and outbox entries; with nothing due sooner it sleeps this long or 0.1 real seconds, "
                           "whichever is longer. A stock push or an event's read sleeps through a quota wait no longer "
                           "than this instead of handing its entry back."} in rows
    assert any(r["key"] == "channels.NAME.options.fulfillment_policy_id" and r["when"] == "platform = ebay"
               for r in rows)
    assert list(tmp_path.iterdir()) == []


def test_every_key_is_documented():
    for row in flatten(SCHEMA):
        assert row["description"].strip(), row["key"]
        assert f"`{row['key'].rsplit('.', 1)[1]}`" in reference_markdown(), row["key"]


# ---------------------------------------------------------------- the key file
@pytest.fixture
def no_env_key(monkeypatch):
    monkeypatch.delenv("CROSSDOCK_SECRET_KEY", raising=False)
    yield
    secrets.use_key_file(None)


def test_loading_a_config_makes_its_key_file_the_key_source(tmp_path, no_env_key):
    key = secrets.write_key_file(tmp_path / "crossdock.key")
    assert stat.S_IMODE(os.stat(tmp_path / "crossdock.key").st_mode) == 0o600
    from cryptography.fernet import Fernet

    token = Fernet(key.encode()).encrypt(b"s3cr3t-client-secret").decode()
    path = write(tmp_path, CHANNEL.format(platform="amazon") + f'client_secret = {{encrypted = "{token}"}}\n'
                 '[secrets]\nkey_file = "crossdock.key"\n')
    cfg = config.load(path, env={})
    assert secrets.key_source() == f"key file {tmp_path / 'crossdock.key'}"
    assert cfg.channel("x").client_secret.reveal() == "s3cr3t-client-secret"
    assert secrets.decrypt(secrets.encrypt("round trip")) == "round trip"


def test_the_environment_key_wins_over_the_key_file(tmp_path, monkeypatch, no_env_key):
    secrets.write_key_file(tmp_path / "crossdock.key")
    secrets.use_key_file(tmp_path / "crossdock.key")
    env_key = secrets.new_key()
    monkeypatch.setenv("CROSSDOCK_SECRET_KEY", env_key)
    from cryptography.fernet import Fernet

    assert Fernet(env_key.encode()).decrypt(secrets.encrypt("x").encode()) == b"x"
    assert secrets.key_source() == "CROSSDOCK_SECRET_KEY"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_may_read_is_refused_like_ssh_does(tmp_path, no_env_key, mode):
    secrets.write_key_file(tmp_path / "crossdock.key")
    os.chmod(tmp_path / "crossdock.key", mode)
    secrets.use_key_file(tmp_path / "crossdock.key")
    with pytest.raises(ConfigError) as exc:
        secrets.encrypt("x")
    assert exc.value.code == "XD-CFG-010" and f"{mode:04o}" in exc.value.detail and "chmod 600" in exc.value.detail


def test_no_key_at_all_and_a_missing_key_file_are_secret_errors(tmp_path, no_env_key):
    secrets.use_key_file(None)
    with pytest.raises(ConfigError) as exc:
        secrets.encrypt("x")
    assert exc.value.code == "XD-CFG-005" and "key_file" in exc.value.detail
    secrets.use_key_file(tmp_path / "gone.key")
    with pytest.raises(ConfigError) as exc:
        secrets.encrypt("x")
    assert exc.value.code == "XD-CFG-005" and "gone.key does not exist" in exc.value.detail


def test_a_key_file_is_never_overwritten(tmp_path):
    secrets.write_key_file(tmp_path / "k")
    with pytest.raises(FileExistsError):
        secrets.write_key_file(tmp_path / "k")


def test_listing_rules_accept_what_their_parsers_accept(tmp_path):
    # eBay category ids may be written as numbers
    text = (CHANNEL.format(platform="ebay") + "[rules.listings.x.categories]\ndefault = 99\nmap = {Toys = 220}\n"
            '[rules.listings.x.attributes.rules]\ncondition = {constant = "NEW"}\n'
            "[rules.listings.x.validation]\ntitle_max_chars = 80\n")
    cfg, problems = problems_of(tmp_path, text)
    assert problems == []
    assert cfg.rules["listings"]["x"]["categories"] == {"default": 99, "map": {"Toys": 220}}
