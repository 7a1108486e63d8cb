"""Signing in for scripts, who am I, and personal access tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from labelhub_app.api.deps import CallerDep, CurrentUser, SessionDep, client_ip
from labelhub_app.api.errors import RateLimited
from labelhub_app.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, slice_list
from labelhub_app.api.ratelimit import login_limiter
from labelhub_app.api.schemas import (
    LoginCreate,
    LoginPublic,
    TokenCreate,
    TokenCreatedPublic,
    TokenPublic,
    TokensPublic,
    UserPublic,
)
from labelhub_app.config import get_settings
from labelhub_app.errors import Forbidden, InvalidInput
from labelhub_app.services import accounts, tokens

router = APIRouter(tags=["account"])


def _token_public(info: tokens.TokenInfo) -> TokenPublic:
    return TokenPublic(
        id=info.public_id,
        name=info.name,
        prefix=info.prefix,
        created_at=info.created_at,
        expires_at=info.expires_at,
        last_used_at=info.last_used_at,
        revoked_at=info.revoked_at,
        active=info.active,
    )


@router.post("/auth/login", response_model=LoginPublic)
def login(body: LoginCreate, request: Request, session: SessionDep) -> LoginPublic:
    """Exchange an email and password for a session token (send it as a Bearer token).

    Attempts are limited per client address and email; prefer an access token from your
    profile page for long-running scripts.
    """
    key = f"{client_ip(request)}|{accounts.normalise_email(body.email)}"
    retry = login_limiter.hit(key)
    if retry is not None:
        raise RateLimited(
            f"Too many sign-in attempts for this email from your address: at most "
            f"{login_limiter.limit} a minute. Try again in {max(1, round(retry))} s.",
            retry,
        )
    try:
        token = accounts.sign_in(
            session,
            email=body.email,
            password=body.password,
            client_ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            method="api",
        )
    except accounts.TooManyAttempts as exc:  # the account or address is locked out (#9)
        raise RateLimited(exc.message, exc.retry_after_s) from exc
    return LoginPublic(token=token, expires_in_days=get_settings().session_days)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(caller: CallerDep, session: SessionDep) -> Response:
    """End the session whose token made this request.

    Access tokens are not sessions: revoke them with DELETE /tokens/{id}.
    """
    if caller.kind != "session":
        raise InvalidInput(
            "This request used an access token; revoke it with DELETE /api/v1/tokens/{id}."
        )
    accounts.sign_out(session, token=caller.credential)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.of(accounts.UserPublic.of(user))


@router.get("/tokens", response_model=TokensPublic)
def list_tokens(
    caller: CallerDep,
    session: SessionDep,
    include_inactive: bool = False,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> TokensPublic:
    """Your access tokens, newest first (with ``include_inactive``, revoked and expired too)."""
    rows = tokens.list_tokens(session, actor=caller.user, include_inactive=include_inactive)
    page = slice_list(rows, cursor=cursor, limit=limit, list_id=f"tokens:{int(include_inactive)}")
    return TokensPublic(items=[_token_public(t) for t in page.items], next_cursor=page.next_cursor)


@router.post("/tokens", response_model=TokenCreatedPublic, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, caller: CallerDep, session: SessionDep) -> TokenCreatedPublic:
    """Create an access token; the response is the only time the token itself is shown.

    Needs a password sign-in (the browser or a session token from POST /auth/login): an access
    token cannot mint more tokens, so a leaked one cannot keep itself alive.
    """
    if caller.kind == "access_token":
        raise Forbidden(
            "Access tokens cannot create tokens; create one on your profile page or with a "
            "session token from POST /api/v1/auth/login."
        )
    new = tokens.create_token(
        session, actor=caller.user, name=body.name, expires_in_days=body.expires_in_days
    )
    return TokenCreatedPublic(**_token_public(new.info).model_dump(), token=new.token)


@router.delete("/tokens/{token_id}", response_model=TokenPublic)
def revoke_token(token_id: str, user: CurrentUser, session: SessionDep) -> TokenPublic:
    """Revoke one of your tokens; requests with it get 401 from then on."""
    return _token_public(tokens.revoke_token(session, actor=user, token_id=token_id))
