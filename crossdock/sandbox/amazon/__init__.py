"""Simulated Amazon SP-API for the crossdock sandbox (see :mod:`.sim`)."""

from crossdock.sandbox.amazon.sim import AmazonSim

__all__ = ["AmazonSim"]
