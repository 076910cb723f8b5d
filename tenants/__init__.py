"""Tenants: organisations, their members and roles, service accounts and API tokens, OTP enrolment."""
