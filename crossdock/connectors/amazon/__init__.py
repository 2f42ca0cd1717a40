"""Amazon Selling Partner API connector (see :mod:`.connector`)."""

from crossdock.connectors.amazon.connector import AmazonConnector
from crossdock.connectors.amazon.inspect import inspect_payload
from crossdock.connectors.amazon.settings import AmazonSettings

__all__ = ["AmazonConnector", "AmazonSettings", "inspect_payload"]
