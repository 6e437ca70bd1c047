"""Bot Framework channel: botbuilder bots talk SMS through Loft (docs/bots.md)."""
