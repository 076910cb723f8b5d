"""Browser views of the tenants app: sign-in, OTP, invitations, tenant chooser, members, settings."""
