"""Simulated eBay (REST Sell APIs, OAuth, Developer Analytics and the Trading XML API)."""

from __future__ import annotations

from crossdock.sandbox.ebay.sim import EbaySim

__all__ = ["EbaySim"]
