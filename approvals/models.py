"""Models of the approvals app (filled in by its own issue)."""
