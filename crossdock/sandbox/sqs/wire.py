"""The SQS endpoint on the wire: the AWS JSON 1.0 protocol botocore speaks to
SQS (``POST /`` with ``X-Amz-Target: AmazonSQS.<Action>``, a JSON body,
errors as ``{"__type", "message"}`` plus the query protocol's code in
``x-amzn-query-error``), behind a Signature Version 4 check with the
sandbox's AWS key, so a wrong secret is refused as AWS refuses it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import quote

from crossdock.sandbox.http import App, Request, Response
from crossdock.sandbox.sqs.queues import Message, Queue, QueueError

if TYPE_CHECKING:
    from crossdock.sandbox.sqs import SqsService

CONTENT_TYPE = "application/x-amz-json-1.0"
SYSTEM_ATTRIBUTES = ("ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "SentTimestamp", "SenderId")


def error(exc: QueueError) -> Response:
    body = json.dumps({"__type": f"com.amazonaws.sqs#{exc.code}", "message": exc.message}).encode()
    return Response(exc.status, body, {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4()),
                                       "x-amzn-query-error": f"{exc.query_code};Sender"})


def ok(obj: dict[str, Any]) -> Response:
    return Response(200, json.dumps(obj, separators=(",", ":")).encode(),
                    {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": str(uuid.uuid4())})


# ------------------------------------------------------------------ Signature Version 4


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def verify_sigv4(req: Request, keys: dict[str, str], *, service: str = "sqs") -> QueueError | None:
    """None when ``req`` is signed with one of ``keys`` (access key id → secret)."""
    auth = req.headers.get("authorization") or ""
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return QueueError("MissingAuthenticationToken", "Request is missing Authentication Token", status=403)
    fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(",") if "=" in part)
    try:
        key_id, date, region, svc, term = fields["Credential"].split("/")
        signed, signature = fields["SignedHeaders"].split(";"), fields["Signature"]
    except (KeyError, ValueError):
        return QueueError("IncompleteSignature", "Authorization header requires Credential, SignedHeaders and "
                          "Signature.", status=400)
    secret = keys.get(key_id)
    if secret is None:
        return QueueError("InvalidClientTokenId", "The security token included in the request is invalid.",
                          status=403)
    amz_date = req.headers.get("x-amz-date") or ""
    if svc != service or term != "aws4_request" or not amz_date.startswith(date):
        return QueueError("SignatureDoesNotMatch", "Credential should be scoped to a valid region and service.",
                          status=403)
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                     for k, vs in sorted(req.query.items()) for v in sorted(vs))
    headers = "".join(f"{h}:{' '.join(str(req.headers.get(h) or '').split())}\n" for h in signed)
    payload = req.headers.get("x-amz-content-sha256") or hashlib.sha256(req.body).hexdigest()
    canonical = "\n".join([req.method, quote(req.path or "/", safe="/~"), query, headers, ";".join(signed), payload])
    scope = f"{date}/{region}/{svc}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), region), svc), "aws4_request")
    if not hmac.compare_digest(hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest(), signature):
        return QueueError("SignatureDoesNotMatch", "The request signature we calculated does not match the "
                          "signature you provided. Check your AWS Secret Access Key and signing method.",
                          status=403)
    return None


# ------------------------------------------------------------------ actions


def _ms(ts: float | None) -> str:
    return str(int((ts or 0) * 1000))


def _render(m: Message, wanted: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"MessageId": m.message_id, "ReceiptHandle": m.receipt_handle, "MD5OfBody": m.md5,
                           "Body": m.body}
    names = SYSTEM_ATTRIBUTES if "All" in wanted else [n for n in wanted if n in SYSTEM_ATTRIBUTES]
    values = {"ApproximateReceiveCount": str(m.receive_count), "SentTimestamp": _ms(m.sent_at),
              "ApproximateFirstReceiveTimestamp": _ms(m.first_received_at), "SenderId": m.sender or "AIDASANDBOX"}
    if names:
        out["Attributes"] = {n: values[n] for n in names}
    return out


def _str_attrs(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise QueueError("InvalidParameterValue", "Attributes must be a map of strings.")
    return {str(k): str(v) for k, v in raw.items()}


def _queue(svc: "SqsService", body: dict[str, Any]) -> Queue:
    url = body.get("QueueUrl")
    if not isinstance(url, str) or not url:
        raise QueueError("MissingParameter", "The request must contain the parameter QueueUrl.")
    return svc.queues.by_url(url)


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueueError("InvalidParameterValue", f"Value for parameter {name} is invalid.")
    return float(value)


def create_queue(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    q = svc.queues.create(str(body.get("QueueName") or ""), _str_attrs(body.get("Attributes")))
    return {"QueueUrl": svc.queues.url(q)}


def get_queue_url(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    return {"QueueUrl": svc.queues.url(svc.queues.by_name(str(body.get("QueueName") or "")))}


def list_queues(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    prefix = str(body.get("QueueNamePrefix") or "")
    return {"QueueUrls": [svc.queues.url(svc.queues.by_name(n)) for n in svc.queues.names() if n.startswith(prefix)]}


def get_queue_attributes(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    q = _queue(svc, body)
    values = {**{k: q.attr(k) for k in ("VisibilityTimeout", "ReceiveMessageWaitTimeSeconds", "DelaySeconds",
                                         "MessageRetentionPeriod", "MaximumMessageSize")},
              **q.attributes, **{k: str(v) for k, v in svc.queues.counts(q).items()},
              "QueueArn": q.arn, "CreatedTimestamp": str(int(q.created_at))}
    wanted = body.get("AttributeNames") or []
    return {"Attributes": values if "All" in wanted else {k: values[k] for k in wanted if k in values}}


def set_queue_attributes(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    svc.queues.set_attributes(_queue(svc, body), _str_attrs(body.get("Attributes")))
    return {}


def send_message(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    text = body.get("MessageBody")
    m = svc.queues.send(_queue(svc, body), text if isinstance(text, str) else "",
                        delay_s=_number(body, "DelaySeconds"))
    return {"MD5OfMessageBody": m.md5, "MessageId": m.message_id}


def receive_message(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    q = _queue(svc, body)
    n = _number(body, "MaxNumberOfMessages")
    got = svc.queues.receive(q, max_messages=int(n) if n is not None else 1,
                             visibility_s=_number(body, "VisibilityTimeout"), wait_s=_number(body, "WaitTimeSeconds"))
    wanted = [str(x) for x in (body.get("MessageSystemAttributeNames") or []) + (body.get("AttributeNames") or [])]
    return {"Messages": [_render(m, wanted) for m in got]} if got else {}


def _handle(body: dict[str, Any]) -> str:
    handle = body.get("ReceiptHandle")
    if not isinstance(handle, str) or not handle:
        raise QueueError("MissingParameter", "The request must contain the parameter ReceiptHandle.")
    return handle


def delete_message(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    svc.queues.delete(_queue(svc, body), _handle(body))
    return {}


def delete_message_batch(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    q = _queue(svc, body)
    done, failed = [], []
    for entry in body.get("Entries") or []:
        try:
            svc.queues.delete(q, _handle(entry))
            done.append({"Id": entry.get("Id")})
        except QueueError as exc:
            failed.append({"Id": entry.get("Id"), "SenderFault": True, "Code": exc.code, "Message": exc.message})
    return {"Successful": done, "Failed": failed}


def change_message_visibility(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    seconds = _number(body, "VisibilityTimeout")
    if seconds is None:
        raise QueueError("MissingParameter", "The request must contain the parameter VisibilityTimeout.")
    svc.queues.change_visibility(_queue(svc, body), _handle(body), seconds)
    return {}


def purge_queue(svc: "SqsService", body: dict[str, Any]) -> dict[str, Any]:
    svc.queues.purge(_queue(svc, body))
    return {}


ACTIONS: dict[str, Callable[["SqsService", dict[str, Any]], dict[str, Any]]] = {
    "CreateQueue": create_queue, "GetQueueUrl": get_queue_url, "ListQueues": list_queues,
    "GetQueueAttributes": get_queue_attributes, "SetQueueAttributes": set_queue_attributes,
    "SendMessage": send_message, "ReceiveMessage": receive_message, "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch, "ChangeMessageVisibility": change_message_visibility,
    "PurgeQueue": purge_queue,
}


def _fault(svc: "SqsService", action: str) -> Response | None:
    """The sandbox's API faults on the SQS endpoint (platform ``sqs``, operation the action): the
    answers AWS gives — 500 InternalError, 503 ServiceUnavailable, a throttle — or a dropped connection."""
    fault = svc.sandbox.faults.take("sqs", action)
    if fault is None:
        return None
    if fault.kind in ("html_500", "html_503", "malformed_json"):
        status = 503 if fault.kind == "html_503" else 500
        return error(QueueError("ServiceUnavailable" if status == 503 else "InternalError",
                                "The request has failed due to a temporary failure of the server.", status=status))
    if fault.kind == "throttle":
        return error(QueueError("RequestThrottled", "Rate exceeded.", status=400))
    if fault.kind == "slow":
        time.sleep(fault.delay_s or 1.0)
        return None
    out = Response(status=0, drop=True)                 # drop, timeout: no answer
    out.delay_s = fault.delay_s if fault.kind == "timeout" else 0.0
    return out


def build_app(svc: "SqsService") -> App:
    app = App("sqs")

    def endpoint(req: Request) -> Response:
        target = req.headers.get("x-amz-target") or ""
        service, _, action = target.partition(".")
        fn = ACTIONS.get(action) if service == "AmazonSQS" else None
        if fn is None:
            return error(QueueError("InvalidAction", f"The action {target or '(none)'} is not valid for this "
                                    "endpoint (the sandbox speaks the AWS JSON protocol only)."))
        refused = verify_sigv4(req, svc.keys)
        if refused is not None:
            return error(refused)
        faulty = _fault(svc, action)
        if faulty is not None:
            return faulty
        try:
            body = json.loads(req.body.decode("utf-8") or "{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            return error(QueueError("SerializationException", "The request body is not a JSON object."))
        try:
            return ok(fn(svc, body))
        except QueueError as exc:
            return error(exc)

    app.add("POST", "/", endpoint)
    return app
