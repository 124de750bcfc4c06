"""What identity's use cases need of the world, as Protocols: the repository (``store.py``
implements it), the field cipher for personal data and TOTP secrets, and the token signer. Identity
calls no other service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from aicc.platform.auth import Principal
from aicc.platform.pagination import Page, PageRequest
from services.identity.domain.model import (
    CityCorrection,
    CreditRecord,
    Expert,
    ExpertProfile,
    ExpertRelation,
    GreenThresholdStatus,
    LoginThrottle,
    Organization,
    OrganizationKind,
    SecondFactorReset,
    User,
)


class IdentityRepository(Protocol):
    """Identity's records, inside one unit of work. ``add_*`` inserts a new record, ``save_*`` writes
    back one read (or inserts it when new); nothing is visible to others before the commit."""

    # organisations
    async def organization(self, organization_id: str) -> Organization | None: ...
    async def organization_by_uscc(self, uscc: str) -> Organization | None: ...
    async def organizations(
        self,
        *,
        kind: OrganizationKind | None,
        city_code: str | None,
        uscc: str | None,
        page: PageRequest,
    ) -> Page[Organization]:
        """A page in (name, organization_id) order, each filter applied when given."""
        ...

    async def add_organization(self, org: Organization) -> None: ...
    async def save_organization(self, org: Organization) -> None: ...
    async def add_city_correction(self, correction: CityCorrection) -> None: ...

    # users, login
    async def user(self, user_id: str) -> User | None: ...
    async def user_by_username(self, username: str) -> User | None: ...
    async def add_user(self, user: User) -> None: ...
    async def save_user(self, user: User) -> None: ...
    async def throttle(self, throttle_key: str) -> LoginThrottle | None: ...
    async def save_throttle(self, throttle: LoginThrottle) -> None: ...
    async def add_second_factor_reset(self, reset: SecondFactorReset) -> None: ...

    # experts
    async def expert(self, user_id: str) -> Expert | None: ...
    async def add_expert(self, expert: Expert) -> None: ...
    async def add_relation(self, relation: ExpertRelation) -> None: ...
    async def experts(self, *, field: str | None, page: PageRequest) -> Page[ExpertProfile]:
        """A page in user_id order, with each expert's display name and relations; only experts
        whose fields include ``field`` when given."""
        ...

    # Art. 5 registry
    async def credit_records(self, organization_id: str) -> list[CreditRecord]: ...
    async def add_credit_record(self, record: CreditRecord) -> None: ...
    async def latest_green(self, organization_id: str, as_of: date) -> GreenThresholdStatus | None: ...
    async def add_green(self, status: GreenThresholdStatus) -> None: ...


class Cipher(Protocol):
    """Field encryption bound to a place (``aad``): ``aicc.platform.crypto.FieldCipher``. ``decrypt``
    raises ``aicc.platform.crypto.DecryptionError`` for a changed, misplaced or foreign value."""

    def encrypt(self, plaintext: str, aad: str = "") -> str: ...
    def decrypt(self, token: str, aad: str = "") -> str: ...


class TokenIssuer(Protocol):
    """Signs access tokens (``aicc.platform.auth.TokenSigner``); re-reads its keys on ``reload``."""

    def reload(self) -> bool: ...
    def public_keys(self) -> dict[str, str]: ...
    def issue(self, p: Principal, *, ttl: int | None = None) -> tuple[str, datetime]: ...
