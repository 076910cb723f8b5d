"""Billing: plans, subscriptions, usage snapshots and monthly reports."""
