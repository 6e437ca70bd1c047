"""Loft: a self-hosted messaging server that speaks Twilio's REST API."""

__version__ = "0.1.0"

__all__ = ["__version__"]
