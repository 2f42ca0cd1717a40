"""The `crossdock catalog` and `crossdock listings` commands, in-process through
the real entry point (``crossdock.cli.main``: error handling and exit codes
included). ``--json`` prints exactly one JSON document on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crossdock.cli import main
from crossdock.db.models import Product
from tests.catalog.env import listings_env


@pytest.fixture
def invoke(capsys, monkeypatch, tmp_path):
    for var in ("CROSSDOCK_CONFIG", "CROSSDOCK_DATABASE_URL", "CROSSDOCK_BROKER_URL", "CROSSDOCK_RATELIMIT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)

    def run(config: Path, *args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(config), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def config_for(tmp_path: Path, db) -> Path:
    path = tmp_path / "crossdock.toml"
    path.write_text(f'[database]\nurl = "{db.url}"\n\n[ratelimit]\nurl = "memory://"\n', encoding="utf-8")
    return path


def test_import_export_show_list(db, tmp_path, invoke):
    cfg = config_for(tmp_path, db)
    src = tmp_path / "products.csv"
    src.write_text("sku,title,brand,base_price,base_currency,attributes,images\n"
                   'MUG-1,Mug [blue],Acme,9.5,EUR,"{""ml"": 300}",https://i.example/m.jpg\n'
                   "TEE-1,Tee,,,,,\n", encoding="utf-8")
    code, stdout, _ = invoke(cfg, "catalog", "import", str(src), "--json")
    assert code == 0
    assert json.loads(stdout) == {"file": str(src), "format": "csv", "rows": 2, "created": 2, "updated": 0,
                                  "unchanged": 0, "columns_changed": {}, "stock_marked": 0, "price_pushes": []}
    # text output: one summary line; catalogue text is not taken as markup
    code, stdout, _ = invoke(cfg, "catalog", "import", str(src))
    assert code == 0 and "2 rows, 0 created, 0 updated, 2 unchanged" in stdout
    code, stdout, _ = invoke(cfg, "catalog", "show", "MUG-1")
    assert code == 0 and "Mug [blue]" in stdout and "not linked to any channel" in stdout
    code, stdout, _ = invoke(cfg, "catalog", "show", "MUG-1", "--json")
    doc = json.loads(stdout)
    assert doc["product"]["base_price"] == "9.50" and doc["stock"] == [] and doc["listings"] == []
    code, stdout, _ = invoke(cfg, "catalog", "list", "--json", "--limit", "1")
    page = json.loads(stdout)
    assert (page["total"], page["shown"], page["next_after"]) == (2, 1, "MUG-1")
    assert page["products"][0]["sku"] == "MUG-1"
    code, stdout, _ = invoke(cfg, "catalog", "list", "--after", "MUG-1")
    assert code == 0 and "TEE-1" in stdout and "MUG-1" not in stdout
    # export to stdout and to a file: the same document, which imports as unchanged
    code, stdout, _ = invoke(cfg, "catalog", "export", "--format", "json")
    assert code == 0 and [p["sku"] for p in json.loads(stdout)] == ["MUG-1", "TEE-1"]
    target = tmp_path / "out.json"
    code, _, stderr = invoke(cfg, "catalog", "export", "--format", "json", "--out", str(target))
    assert code == 0 and target.read_text(encoding="utf-8") == stdout and "2 products written" in stderr
    code, stdout, _ = invoke(cfg, "catalog", "import", str(target), "--json")
    assert json.loads(stdout)["unchanged"] == 2
    code, stdout, _ = invoke(cfg, "catalog", "export")
    assert stdout.splitlines()[0].startswith("sku,title,description,category,brand,attributes,images")


def test_bad_file_and_unknown_sku_exit_with_their_codes(db, tmp_path, invoke):
    cfg = config_for(tmp_path, db)
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,title,weight_g,base_price,base_currency\nA,Fine,1,1,EUR\nB,Heavy,1e30,1,EUR\n"
                   "C,Cheap,1,-1,EUR\nA,Again,1,1,EUR\n", encoding="utf-8")
    code, stdout, _ = invoke(cfg, "catalog", "import", str(bad), "--json")
    err = json.loads(stdout)["error"]
    assert code == 1 and err["code"] == "XD-INV-008"
    assert [(p["line"], p["code"], p["column"]) for p in err["context"]["problems"]] == [
        (3, "XD-INV-009", "weight_g"), (4, "XD-INV-009", "base_price"), (5, "XD-INV-010", "sku")]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 0
    code, _, stderr = invoke(cfg, "catalog", "import", str(bad))
    assert code == 1 and "XD-INV-008" in stderr and "line 5 (A): [XD-INV-010] sku: SKU A is also on line 2" in stderr
    code, stdout, _ = invoke(cfg, "catalog", "show", "NOPE", "--json")
    assert code == 1 and json.loads(stdout)["error"]["code"] == "XD-INV-004"
    code, _, _ = invoke(cfg, "catalog", "export", "--format", "xml")
    assert code == 2


@pytest.mark.slow
def test_listings_pull_list_link_through_the_cli(sqlite_db, tmp_path, monkeypatch, invoke):
    with listings_env(tmp_path, monkeypatch, sqlite_db) as env:
        src = tmp_path / "products.json"
        src.write_text(json.dumps([{"sku": "A", "title": "A", "base_price": "5", "base_currency": "EUR"},
                                   {"sku": "NEW-NAME", "title": "Renamed"}]), encoding="utf-8")
        assert invoke(env.config_path, "catalog", "import", str(src))[0] == 0
        env.stock({"A": 8, "NEW-NAME": 4})
        env.put("ebay-uk", "A", 5)
        env.put("ebay-uk", "OLD-NAME", 3, legacy=True)
        env.put("amazon-us", "A", 1)
        # Given an unknown SKU on eBay, when pulled: exit 4 and one JSON document
        code, stdout, _ = invoke(env.config_path, "listings", "pull", "--channel", "ebay-uk", "--json")
        doc = json.loads(stdout)
        assert code == 4 and [c["channel"] for c in doc["channels"]] == ["ebay-uk"]
        assert [u["sku"] for u in doc["channels"][0]["unknown"]] == ["OLD-NAME"]
        # the text form names the unknown SKU with its code
        code, stdout, _ = invoke(env.config_path, "listings", "pull", "--channel", "ebay-uk")
        assert code == 4 and "XD-INV-004 OLD-NAME" in stdout
        # link the odd one by its ItemID, then the pull is clean for eBay
        item = env.item_id("OLD-NAME")
        code, stdout, _ = invoke(env.config_path, "listings", "link", "NEW-NAME", "--channel", "ebay-uk",
                                 "--listing-id", item, "--json")
        assert code == 0 and json.loads(stdout)["kind"] == "trading"
        code, stdout, _ = invoke(env.config_path, "listings", "pull", "--channel", "ebay-uk", "--channel",
                                 "amazon-us", "--json")
        doc = json.loads(stdout)
        assert code == 0, doc
        assert {c["channel"]: (c["linked"], c["counts"]["new"], c["counts"]["already"]) for c in doc["channels"]} \
            == {"ebay-uk": (2, 0, 2), "amazon-us": (1, 1, 0)}
        code, stdout, _ = invoke(env.config_path, "listings", "list", "--sku", "A", "--json")
        assert code == 0 and [(r["channel"], r["sku"]) for r in json.loads(stdout)] == [
            ("amazon-us", "A"), ("ebay-uk", "A")]
        code, stdout, _ = invoke(env.config_path, "listings", "list")
        assert code == 0 and "listings (3)" in stdout
        # refusals: unknown channel (usage, 2), unknown SKU (1)
        code, stdout, _ = invoke(env.config_path, "listings", "pull", "--channel", "nope", "--json")
        assert code == 2 and json.loads(stdout)["error"]["code"] == "XD-CFG-007"
        code, stdout, _ = invoke(env.config_path, "listings", "link", "NOPE", "--channel", "ebay-uk",
                                 "--listing-id", item, "--json")
        assert code == 1 and json.loads(stdout)["error"]["code"] == "XD-INV-004"
        # a channel that cannot be read: its error's exit code (3), the others still pulled
        env.sb.sims["ebay"].auth_scenario("expire_authorisation", None)
        code, stdout, _ = invoke(env.config_path, "listings", "pull", "--channel", "ebay-uk", "--channel",
                                 "amazon-us", "--json")
        doc = json.loads(stdout)
        assert code == 3 and doc["failed"] == ["ebay-uk"]
        assert doc["channels"][0]["error"]["code"].startswith("XD-AUTH")
        assert doc["channels"][1]["counts"]["already"] == 1


def test_alias_and_bundle_commands(db, tmp_path, invoke):
    cfg = config_for(tmp_path, db)
    src = tmp_path / "products.csv"
    src.write_text("sku,title\nX,Ex\nY,Why\nKIT,The kit\n", encoding="utf-8")
    assert invoke(cfg, "catalog", "import", str(src))[0] == 0

    code, stdout, _ = invoke(cfg, "catalog", "alias", "add", "OLD-X", "X", "--json")
    assert code == 0 and json.loads(stdout) == {"alias": "OLD-X", "sku": "X", "channel": None, "added": True}
    code, _, err = invoke(cfg, "catalog", "alias", "add", "OLD-Z", "NOPE")          # unknown SKU
    assert code != 0 and "XD-INV-004" in err
    code, _, err = invoke(cfg, "catalog", "alias", "add", "Y", "X")                 # a catalogue SKU
    assert code != 0 and "XD-INV-014" in err
    code, _, err = invoke(cfg, "catalog", "alias", "add", "OLD-Y", "Y", "--channel", "nowhere")
    assert code != 0 and "XD-CFG-007" in err
    code, stdout, _ = invoke(cfg, "catalog", "alias", "list", "--json")
    assert json.loads(stdout) == {"aliases": [{"alias": "OLD-X", "sku": "X", "channel": None}]}

    code, stdout, _ = invoke(cfg, "catalog", "bundle", "set", "KIT", "X:2", "Y:1", "--json")
    assert code == 0 and json.loads(stdout)["components"] == {"X": 2, "Y": 1}
    for bad in (["X:0"], ["X:two"], ["NOPE:1"], ["KIT:1"]):
        code, _, err = invoke(cfg, "catalog", "bundle", "set", "KIT", *bad)
        assert code != 0 and "XD-INV-015" in err, (bad, err)
    code, stdout, _ = invoke(cfg, "catalog", "bundle", "show", "KIT", "--json")
    assert json.loads(stdout)["available"] == 0 and [c["sku"] for c in json.loads(stdout)["components"]] == ["X", "Y"]
    code, stdout, _ = invoke(cfg, "catalog", "show", "KIT")
    assert code == 0 and "bundle of: 2 × X + 1 × Y" in stdout
    code, stdout, _ = invoke(cfg, "catalog", "show", "X")
    assert "aliases: OLD-X" in stdout

    assert invoke(cfg, "catalog", "bundle", "remove", "KIT")[0] == 0
    assert invoke(cfg, "catalog", "alias", "remove", "OLD-X")[0] == 0
    code, _, err = invoke(cfg, "catalog", "bundle", "show", "KIT")
    assert code != 0 and "XD-INV-015" in err
