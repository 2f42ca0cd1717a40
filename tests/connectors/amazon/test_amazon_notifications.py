"""Reading SP-API notifications off the queue (pure): an ORDER_CHANGE as
Amazon documents it becomes one delivery for its channel, deduped on its
NotificationId; what crossdock cannot read is refused with its code; the
channels of one seller share one queue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossdock.connectors.amazon.notifications import OrderChangeReader, event_queues, queue_arn
from crossdock.connectors.amazon.settings import AmazonSettings
from crossdock.connectors.events import Delivery
from crossdock.errors import ConfigError, EventError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "amazon" / "notification_order_change.json"
US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"
SELLER = "A1SELLERSANDBOX"


@pytest.fixture
def reader() -> OrderChangeReader:
    return OrderChangeReader({(SELLER, US): "amazon-us", (SELLER, DE): "amazon-de"})


def _doc() -> dict:
    return json.loads(FIXTURE.read_text())


def test_an_order_change_notification_is_one_delivery_for_its_channel(reader):
    assert reader.read(FIXTURE.read_text()) == [Delivery(
        channel="amazon-us", topic="ORDER_CHANGE", delivery_id="d0e9e693-c3ad-4373-979f-ed4ec98dd746",
        order_ids=("902-3159896-1390916",))]
    assert reader.channels == ("amazon-de", "amazon-us") and reader.source == "amazon"


def test_another_notification_type_is_acknowledged_and_reads_nothing(reader):
    doc = _doc()
    doc["NotificationType"] = "ANY_OFFER_CHANGED"
    assert reader.read(json.dumps(doc)) == []


@pytest.mark.parametrize("body, code, says", [
    ("not json", "XD-EVT-004", "not JSON"),
    ("[1, 2]", "XD-EVT-004", "not a JSON object"),
    ('{"Type": "Notification", "Message": "{}"}', "XD-EVT-004", "no NotificationType"),
])
def test_what_is_not_an_sp_api_notification_is_refused_as_unreadable(reader, body, code, says):
    with pytest.raises(EventError) as err:
        reader.read(body)
    assert err.value.code == code and says in err.value.detail


def test_a_notification_missing_its_id_order_or_known_seller_is_refused_with_its_code(reader):
    doc = _doc()
    del doc["NotificationMetadata"]["NotificationId"]
    with pytest.raises(EventError) as err:
        reader.read(json.dumps(doc))
    assert err.value.code == "XD-EVT-004"
    doc = _doc()
    doc["Payload"]["OrderChangeNotification"]["AmazonOrderId"] = ""
    with pytest.raises(EventError) as err:
        reader.read(json.dumps(doc))
    assert err.value.code == "XD-EVT-004"
    doc = _doc()
    doc["Payload"]["OrderChangeNotification"]["SellerId"] = "AOTHERSELLER"
    with pytest.raises(EventError) as err:
        reader.read(json.dumps(doc))
    assert err.value.code == "XD-EVT-003" and "AOTHERSELLER" in err.value.detail


def test_a_queue_url_gives_its_arn_and_a_url_without_account_is_a_config_error():
    assert queue_arn("https://sqs.eu-west-1.amazonaws.com/123456789012/sp-api", "eu-west-1") == \
        "arn:aws:sqs:eu-west-1:123456789012:sp-api"
    assert queue_arn("http://127.0.0.1:8001/412256369204/q", "us-east-1") == "arn:aws:sqs:us-east-1:412256369204:q"
    with pytest.raises(ConfigError):
        queue_arn("https://sqs.eu-west-1.amazonaws.com/sp-api", "eu-west-1")


def _settings(channel: str, marketplace: str, **events) -> AmazonSettings:
    return AmazonSettings(channel=channel, seller_id=SELLER, marketplace_id=marketplace, client_id="amzn1.app",
                          client_secret="s", refresh_token="r", **events)


def test_the_marketplaces_of_one_seller_share_one_queue_and_channels_without_one_read_none():
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/sp-api"
    (binding,) = event_queues({
        "amazon-us": _settings("amazon-us", US, events_queue_url=url, aws_access_key_id="AKIA1",
                               aws_secret_access_key="TOPSECRETVALUE"),
        "amazon-de": _settings("amazon-de", DE, events_queue_url=url, aws_access_key_id="AKIA1",
                               aws_secret_access_key="TOPSECRETVALUE"),
        "amazon-fr": _settings("amazon-fr", "A13V1IB3VIYZZH"),
    })
    assert binding.access.url == url and binding.access.endpoint_url is None
    assert binding.reader.channels == ("amazon-de", "amazon-us")
    assert "TOPSECRETVALUE" not in repr(binding.access)                    # the secret never shows
    with pytest.raises(ConfigError):
        _settings("amazon-us", US, events_queue_url=url, aws_access_key_id="AKIA1")   # a key without its secret


def test_a_channels_queue_and_aws_keys_come_from_its_configuration_the_keys_as_secrets(tmp_path, monkeypatch):
    from crossdock import config
    from crossdock.connectors.amazon.platform import settings

    head = ('[channels.amazon-us]\nplatform = "amazon"\naccount = "A1SELLERSANDBOX"\ncurrency = "USD"\n'
            f'marketplace = "{US}"\nclient_id = "amzn1.app"\nclient_secret = {{env = "XT_CS"}}\n'
            'refresh_token = {env = "XT_RT"}\n')
    options = ('[channels.amazon-us.options]\nevents_queue_url = "https://sqs.eu-west-1.amazonaws.com/1234/q"\n'
               'events_region = "eu-west-1"\nevents_wait_s = 5\n')
    path = tmp_path / "crossdock.toml"
    path.write_text(head + 'aws_access_key_id = {env = "XT_AK"}\naws_secret_access_key = {env = "XT_SK"}\n' + options)
    for var, value in {"XT_CS": "cs", "XT_RT": "rt", "XT_AK": "AKIAEXAMPLE", "XT_SK": "TOPSECRETVALUE"}.items():
        monkeypatch.setenv(var, value)
    s = settings(config.load(path, env={}).channel("amazon-us"))
    assert (s.events_queue_url, s.events_region, s.events_wait_s) == ("https://sqs.eu-west-1.amazonaws.com/1234/q",
                                                                      "eu-west-1", 5)
    assert (s.aws_access_key_id, s.aws_secret_access_key) == ("AKIAEXAMPLE", "TOPSECRETVALUE")
    assert "TOPSECRETVALUE" not in repr(s)
    path.write_text(head + 'aws_secret_access_key = "TOPSECRETVALUE"\n' + options)
    _, problems = config.read(path, env={})
    assert [p.code for p in problems] == ["XD-CFG-006"]           # a plain-text secret is refused
