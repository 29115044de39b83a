"""Who is calling, and with which roles: what every authenticated route receives."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ember.domain.ledger import is_player_id

from .errors import AuthError, Forbidden

ROLES: frozenset[str] = frozenset({"player", "operator", "finance"})

# API Gateway flattens a list claim to "[a b]" or "a,b"; tokens may carry "a b" too.
_GROUP_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: `subject` is the token's `sub`, never a body field."""

    subject: str
    roles: frozenset[str]

    def require(self, role: str) -> None:
        """Returns nothing when the caller has `role`; raises Forbidden otherwise."""
        if role not in ROLES:
            # A typo in a route would otherwise forbid everyone, silently.
            raise ValueError(f"unknown role {role!r}; roles are {sorted(ROLES)}")
        if role not in self.roles:
            raise Forbidden(f"this operation requires the {role} role")


def roles_from_groups(groups: object) -> frozenset[str]:
    """The known roles named by a groups claim (list, or space/comma separated string)."""
    if isinstance(groups, str):
        names = _GROUP_SEPARATORS.split(groups.strip().removeprefix("[").removesuffix("]"))
    elif isinstance(groups, list | tuple):
        names = [name for name in groups if isinstance(name, str)]
    else:
        return frozenset()
    return frozenset(name for name in names if name in ROLES)


def principal_from_claims(claims: dict[str, object], *, groups_claim: str) -> Principal:
    """The Principal named by already verified claims; AuthError when `sub` is missing."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise AuthError("token has no subject")
    # The subject becomes the player id in every table: a signed but odd token is refused
    # here, not a 500 later.
    if not is_player_id(subject):
        raise AuthError("token subject is not a valid player id")
    return Principal(subject=subject, roles=roles_from_groups(claims.get(groups_claim)))
