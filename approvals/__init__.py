"""Approvals: M-of-N dual control over loosening operations."""
