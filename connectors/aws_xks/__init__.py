"""AWS KMS External Key Store (XKS) proxy: the four XKS operations over a tenant's bound keys.

See README.md in this folder for the layout, the checklist for adding the next protocol, and deployment.
"""
