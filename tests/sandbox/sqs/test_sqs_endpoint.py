"""The sandbox's SQS endpoint, driven by the unmodified boto3 (the JSON
protocol botocore speaks to SQS, SigV4-signed): what an SP-API notification
consumer relies on — receive, delete, visibility, long polling, dead-letter."""

from __future__ import annotations

import hashlib
import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from crossdock.sandbox.core import Sandbox

SCALE = 600.0      # 30 sandbox seconds of visibility = 50 real ms


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(platforms=(), time_scale=SCALE, seed=5).start()
    yield sb
    sb.stop()


def _client(desc: dict, *, secret: str | None = None):
    return boto3.client("sqs", endpoint_url=desc["endpoint_url"], region_name=desc["region"],
                        aws_access_key_id=desc["access_key_id"],
                        aws_secret_access_key=secret or desc["secret_access_key"],
                        config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def sqs(sandbox):
    return _client(sandbox.describe()["sqs"])


def _queue(sqs, name: str, **attributes: str) -> str:
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def test_a_sent_message_is_received_with_its_checksum_and_deleted(sqs):
    url = _queue(sqs, "basic")
    sent = sqs.send_message(QueueUrl=url, MessageBody='{"n": 1, "text": "Łódź"}')
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    (msg,) = got["Messages"]
    assert msg["MessageId"] == sent["MessageId"] and msg["Body"] == '{"n": 1, "text": "Łódź"}'
    assert msg["MD5OfBody"] == sent["MD5OfMessageBody"] == hashlib.md5(msg["Body"].encode()).hexdigest()
    assert msg["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    time.sleep(0.1)                                       # past the visibility timeout: still gone
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert sqs.get_queue_url(QueueName="basic")["QueueUrl"] == url


def test_an_undeleted_message_comes_back_after_its_visibility_timeout_with_a_new_handle(sqs):
    url = _queue(sqs, "visibility")
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)          # in flight: hidden
    time.sleep(30 / SCALE + 0.05)
    again = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600,
                                MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert again["MessageId"] == first["MessageId"] and again["ReceiptHandle"] != first["ReceiptHandle"]
    assert again["Attributes"] == {"ApproximateReceiveCount": "2"}
    # a delete with the stale handle succeeds but deletes nothing, as the SQS reference says
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"
    # visibility 0 gives it back at once; then it is no longer in flight
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0)
    with pytest.raises(ClientError) as err:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=5)
    assert err.value.response["Error"]["Code"] == "AWS.SimpleQueueService.MessageNotInflight"
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"


def test_a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue(sqs):
    dlq = _queue(sqs, "orders-dlq")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = _queue(sqs, "orders", RedrivePolicy=f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"2"}}',
                 VisibilityTimeout="6")
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]["Body"] == "poison"
        time.sleep(6 / SCALE + 0.03)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)          # the third receive moved it
    dead = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["ApproximateReceiveCount"])
    assert dead["Messages"][0]["Body"] == "poison"
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert '"maxReceiveCount":"2"' in attrs["RedrivePolicy"]


def test_a_long_poll_returns_as_soon_as_a_message_arrives(sqs):
    url = _queue(sqs, "longpoll")
    threading.Timer(0.3, lambda: sqs.send_message(QueueUrl=url, MessageBody="late")).start()
    started = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
    assert got["Messages"][0]["Body"] == "late"
    assert 0.25 < time.monotonic() - started < 5.0     # long before the 10 s the poll may wait (a busy CI host)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got["Messages"][0]["ReceiptHandle"])
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)   # nothing: waits it out
    assert time.monotonic() - started >= 0.95


def test_a_wrong_secret_an_unknown_queue_and_bad_parameters_are_refused_as_on_aws(sandbox, sqs):
    desc = sandbox.describe()["sqs"]
    with pytest.raises(ClientError) as err:
        _client(desc, secret="x" * 40).list_queues()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as err:
        sqs.receive_message(QueueUrl=desc["endpoint_url"] + "/" + desc["account_id"] + "/nope")
    assert err.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    url = _queue(sqs, "params")
    with pytest.raises(ClientError) as err:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=21)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as err:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="garbage")
    assert err.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
