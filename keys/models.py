"""Models of the keys app (filled in by its own issue)."""
