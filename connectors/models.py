"""Models of the connectors app (filled in by its own issue)."""
