"""The web console at ``/console``: server-rendered pages for people (see docs/console.md)."""

from loft.console.pages import routes
from loft.console.web import missing

__all__ = ["missing", "routes"]
