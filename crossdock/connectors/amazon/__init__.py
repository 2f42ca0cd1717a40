"""Amazon Selling Partner API: the platform folder (``PLATFORM``, see
:mod:`.platform`) and its connector (:mod:`.connector`)."""

from crossdock.connectors.amazon.connector import AmazonConnector
from crossdock.connectors.amazon.inspect import inspect_payload
from crossdock.connectors.amazon.platform import PLATFORM
from crossdock.connectors.amazon.settings import AmazonSettings

__all__ = ["PLATFORM", "AmazonConnector", "AmazonSettings", "inspect_payload"]
