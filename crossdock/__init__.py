"""crossdock: cross-border e-commerce integration and sync engine."""

__version__ = "0.1.0"
