"""Dependencies of the API routes: the database session and who is calling.

Credentials, in order: ``Authorization: Bearer <token>`` (an access token ``lh_pat_...`` or a
session token from ``POST /auth/login``), then the browser's ``lh_session`` cookie. A bearer
token that is unknown, expired or revoked is refused with 401 rather than treated as anonymous, so
a script with a dead token finds out at once. Every request made with a valid credential counts
against that credential's rate limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from labelhub_app.api.errors import RateLimited
from labelhub_app.api.ratelimit import token_limiter
from labelhub_app.config import SESSION_COOKIE
from labelhub_app.db import session_scope
from labelhub_app.errors import NotAuthenticated
from labelhub_app.models import User
from labelhub_app.services import accounts, tokens

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An access token (lh_pat_..., made on your profile page or with POST /tokens) "
    "or a session token from POST /auth/login.",
)

CredentialKind = Literal["access_token", "session"]


def get_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Caller:
    user: User
    kind: CredentialKind
    credential: str  # the token as sent; kept only for this request


def _refuse_if_limited(credential: str) -> None:
    retry = token_limiter.hit(tokens.token_hash(credential))
    if retry is not None:
        raise RateLimited(
            f"Too many requests with this token: at most {token_limiter.limit} a minute. "
            f"Wait {max(1, round(retry))} s and slow down.",
            retry,
        )


def optional_caller(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller | None:
    if bearer is not None and bearer.credentials:
        credential = bearer.credentials.strip()
        if tokens.is_access_token(credential):
            user = tokens.user_for_access_token(session, credential)
            kind: CredentialKind = "access_token"
        else:
            user = accounts.user_for_token(session, credential)
            kind = "session"
        if user is None:
            raise NotAuthenticated(
                "This token is not valid: it is unknown, expired or revoked. Create a new one "
                "on your profile page or sign in again with POST /api/v1/auth/login."
            )
    else:
        credential = request.cookies.get(SESSION_COOKIE, "")
        user = accounts.user_for_token(session, credential) if credential else None
        kind = "session"
        if user is None:
            return None
    _refuse_if_limited(credential)
    return Caller(user, kind, credential)


def require_caller(caller: Annotated[Caller | None, Depends(optional_caller)]) -> Caller:
    if caller is None:
        raise NotAuthenticated(
            "Sign in first: send 'Authorization: Bearer <token>' with an access token from "
            "your profile page."
        )
    return caller


def optional_user(caller: Annotated[Caller | None, Depends(optional_caller)]) -> User | None:
    return caller.user if caller else None


def current_user(caller: Annotated[Caller, Depends(require_caller)]) -> User:
    return caller.user


CallerDep = Annotated[Caller, Depends(require_caller)]
CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
