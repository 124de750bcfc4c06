"""How identity is served: its servicer, its token signer (it verifies tokens with its own keys),
and bootstrap accounts (operator; the worker's service account)."""

from __future__ import annotations

from aicc.identity.v1 import identity_pb2, identity_pb2_grpc
from aicc.platform import authz
from aicc.platform.auth import TokenSigner, TokenVerifier
from aicc.platform.server import Runtime, ServiceSpec
from services.identity.api import IdentityServicer
from services.identity.domain import accounts
from services.identity.store import IdentityStore


def _signer(rt: Runtime) -> TokenSigner:
    if "signer" not in rt.extras:
        s = rt.settings
        keys_dir = s.token_signing_keys_dir or (s.data_dir / "keys")
        rt.extras["signer"] = TokenSigner.from_dir(
            keys_dir,
            issuer=s.token_issuer,
            ttl=s.token_ttl_seconds,
            generate=s.dev_mode and not s.token_signing_keys_dir,
        )
    return rt.extras["signer"]


def _register(rt: Runtime, server) -> None:
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(IdentityServicer(rt, _signer(rt)), server)


def _verifier(rt: Runtime) -> TokenVerifier:
    signer = _signer(rt)

    async def local_keys() -> dict[str, str]:
        return signer.public_keys()

    return TokenVerifier(local_keys, issuer=rt.settings.token_issuer)


async def _bootstrap(rt: Runtime) -> None:
    s = rt.settings
    operator_pw = s.bootstrap_operator_password or (
        accounts.dev_secret(s.data_dir, "operator-password") if s.dev_mode else None
    )
    worker_pw = s.resolved_worker_password() or (
        accounts.dev_secret(s.data_dir, "worker-password") if s.dev_mode else None
    )
    async with rt.db.transaction() as session:
        store = IdentityStore(session)
        if operator_pw:
            await accounts.ensure_account(
                store,
                username=s.bootstrap_operator_username,
                password=operator_pw,
                roles=[authz.OPERATOR],
                display_name="Platform operator",
            )
        if worker_pw:
            await accounts.ensure_account(
                store,
                username=s.worker_username,
                password=worker_pw,
                roles=[authz.SYSTEM],
                display_name="Cycle workflow worker",
            )


SPEC = ServiceSpec(
    name="identity",
    service_names=(identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,),
    register=_register,
    make_verifier=_verifier,
    on_start=_bootstrap,
)
