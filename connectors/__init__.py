"""Connectors: provider-facing endpoints (AWS XKS, Microsoft DKE, Google CSE, Salesforce, Vault Transit)."""
