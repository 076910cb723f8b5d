"""Who may decrypt with a binding's keys: an email allow-list or Entra app roles.

Email mode follows the reference EmailAuthorizer: the first identity claim the token carries, compared
trimmed and case-insensitively; no such claim is a malformed request (400), not listed is 403.

Role mode reads the signed ``roles`` claim (Entra app roles, assignable to users and groups) instead of
the reference's LDAP lookup of ``onprem_sid``; see the README for why. Entra omits ``roles`` when nothing
is assigned, so a missing claim means "no role" and is a 403, not a malformed token.
"""

from __future__ import annotations

from connectors.ms_dke.config import DkeConfig
from connectors.ms_dke.errors import BadRequest, Forbidden
from connectors.ms_dke.tokens import Identity


def authorize(identity: Identity, config: DkeConfig) -> None:
    """Return if the identity may decrypt; BadRequest or Forbidden (with a code for the log) if not."""
    if config.emails is not None:
        name = identity.name
        if name is None:
            raise BadRequest(
                "The token carries no email, upn or preferred_username claim.", code="no_identity_claim"
            )
        if name.lower() not in config.emails:
            raise Forbidden(code="email_not_allowed")
        return
    roles = identity.claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise BadRequest("The token's roles claim is malformed.", code="malformed_roles_claim")
    if not config.roles or not config.roles.intersection(roles):
        raise Forbidden(code="role_not_assigned")
