"""Browser sign-in routes on the backend: the only places that set or clear the session cookie.

The session token travels in an HttpOnly cookie (``lh_session``) set here, so page scripts and
Reflex state never see it; the websocket and the file routes read it from request headers.
Forms on /signin and /signup post here as ordinary HTML forms; errors and notices go back to the
page in a short-lived "flash" cookie (a message, never a secret) that the page reads and clears.

- ``POST /auth/signin``, ``POST /auth/signup``, ``GET|POST /auth/signout``
- ``GET /auth/oidc/login`` -> the provider -> ``GET /auth/oidc/callback`` (state, PKCE, nonce)
- ``GET /dev/outbox`` (only with LABELHUB_DEV_PAGES): the mail outbox, for development and tests
"""

from __future__ import annotations

import html
import json
import re
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from labelhub_app import routes
from labelhub_app.config import SESSION_COOKIE, get_settings
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError, NotFound
from labelhub_app.services import accounts

router = APIRouter(include_in_schema=False)

FLASH_COOKIE = "lh_flash"  # {"error"|"notice": text, "email": ...}; read and cleared by the page
OIDC_STATE_COOKIE = "lh_oidc_state"
OIDC_FRONT_COOKIE = "lh_oidc_front"  # the origin of the page the sign-in started from


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _hostname(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _allowed_hosts(request: Request) -> set[str]:
    hosts = {(request.url.hostname or "").lower()}
    public = get_settings().public_url
    if public:
        hosts.add(_hostname(public))
    return hosts - {""}


def _frontend_base(request: Request) -> str:
    """The origin of the page that sent the person here (same host only), else '' (relative).

    In the one-port production run this is this server; in `reflex run` development the pages
    come from another port of the same host.
    """
    for header in ("origin", "referer"):
        value = request.headers.get(header, "")
        if value and value != "null" and _hostname(value) in _allowed_hosts(request):
            parts = urlsplit(value)
            return f"{parts.scheme}://{parts.netloc}"
    return get_settings().public_url.rstrip("/")


def _cross_site(request: Request) -> bool:
    """A form posted from another site (login CSRF); browsers always send Origin on POST."""
    origin = request.headers.get("origin", "")
    return bool(origin) and _hostname(origin) not in _allowed_hosts(request)


def _backend_base(request: Request) -> str:
    public = get_settings().public_url
    return public.rstrip("/") if public else str(request.base_url).rstrip("/")


def _set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )


def _flash(response: Response, **message: str) -> None:
    response.set_cookie(
        FLASH_COOKIE,
        quote(json.dumps(message)),
        max_age=120,
        path="/",
        httponly=False,  # the page clears it after showing it
        samesite="lax",
        secure=get_settings().session_cookie_secure,
    )


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def home_for(user: accounts.UserPublic) -> str:
    if not user.roles:
        return f"{routes.PROFILE}?welcome=1"
    return routes.DASHBOARD if "producer" in user.roles else routes.MARKET


def _back_to(request: Request, page: str, next_path: str = "", **message: str) -> Response:
    target = page + (f"?next={quote(next_path)}" if next_path else "")
    response = _redirect(_frontend_base(request) + target)
    _flash(response, **message)
    return response


@router.post(routes.AUTH_SIGN_IN)
def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    next_path = accounts.safe_next(next)
    if _cross_site(request):
        return _back_to(request, routes.SIGN_IN, error="Sign in from LabelHub's own page.")
    try:
        with session_scope() as session:
            token = accounts.sign_in(
                session,
                email=email,
                password=password,
                client_ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
            user = accounts.UserPublic.of(accounts.user_for_token(session, token))  # type: ignore[arg-type]
    except LabelHubError as exc:
        return _back_to(request, routes.SIGN_IN, next_path, error=exc.message, email=email)
    response = _redirect(_frontend_base(request) + (next_path or home_for(user)))
    _set_session_cookie(response, token)
    return response


@router.post(routes.AUTH_SIGN_UP)
def sign_up(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role_producer: Annotated[str, Form()] = "",
    role_consumer: Annotated[str, Form()] = "",
    role_reviewer: Annotated[str, Form()] = "",
) -> Response:
    if _cross_site(request):
        return _back_to(request, routes.SIGN_UP, error="Sign up on LabelHub's own page.")
    chosen = {"producer": role_producer, "consumer": role_consumer, "reviewer": role_reviewer}
    roles = [role for role, value in chosen.items() if value in ("on", "true", "1")]
    front = _frontend_base(request)
    try:
        with session_scope() as session:
            accounts.register(
                session,
                email=email,
                password=password,
                roles=roles,
                display_name=display_name,
                base_url=front or _backend_base(request),
            )
            token = accounts.sign_in(
                session,
                email=email,
                password=password,
                client_ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
            user = accounts.UserPublic.of(accounts.user_for_token(session, token))  # type: ignore[arg-type]
    except LabelHubError as exc:
        return _back_to(request, routes.SIGN_UP, error=exc.message, email=email)
    response = _redirect(front + home_for(user))
    _set_session_cookie(response, token)
    return response


@router.api_route(routes.AUTH_SIGN_OUT, methods=["GET", "POST"])
def sign_out(request: Request) -> Response:
    """End this browser's session and forget its cookie."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        with session_scope() as session:
            accounts.sign_out(session, token=token)
    response = _redirect(_frontend_base(request) + routes.SIGN_IN)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(routes.OIDC_LOGIN)
def oidc_login(request: Request, next: str = "") -> Response:
    """Send the browser to the provider with a fresh state, nonce and PKCE challenge."""
    front = _frontend_base(request)
    try:
        with session_scope() as session:
            started = accounts.begin_oidc_sign_in(
                session,
                redirect_uri=_backend_base(request) + routes.OIDC_CALLBACK,
                next_path=front + (accounts.safe_next(next) or ""),
            )
    except LabelHubError as exc:
        return _back_to(request, routes.SIGN_IN, error=exc.message)
    response = RedirectResponse(started.url, status_code=302)
    for name, value in ((OIDC_STATE_COOKIE, started.state), (OIDC_FRONT_COOKIE, front)):
        response.set_cookie(
            name,
            value,
            max_age=int(accounts.OIDC_LOGIN_TTL.total_seconds()),
            path=routes.OIDC_CALLBACK,
            httponly=True,
            samesite="lax",  # sent on the provider's top-level redirect back to us
            secure=get_settings().session_cookie_secure,
        )
    return response


def _callback_front(request: Request) -> str:
    """Where the person started (the Referer here is the provider's page, so never use it)."""
    front = request.cookies.get(OIDC_FRONT_COOKIE, "")
    if front and _hostname(front) in _allowed_hosts(request):
        return front.rstrip("/")
    return get_settings().public_url.rstrip("/")


def _callback_done(response: Response) -> Response:
    for name in (OIDC_STATE_COOKIE, OIDC_FRONT_COOKIE):
        response.delete_cookie(name, path=routes.OIDC_CALLBACK)
    return response


@router.get(routes.OIDC_CALLBACK)
def oidc_callback(
    request: Request, state: str = "", code: str = "", error: str = "", error_description: str = ""
) -> Response:
    """Check the state against this browser's, then the code, the ID token and its nonce."""
    try:
        with session_scope() as session:
            done = accounts.complete_oidc_sign_in(
                session,
                state=state,
                browser_state=request.cookies.get(OIDC_STATE_COOKIE, ""),
                code=code,
                error=(error_description or error),
                base_url=_backend_base(request),
                client_ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
    except LabelHubError as exc:
        response = _redirect(_callback_front(request) + routes.SIGN_IN)
        _flash(response, error=exc.message)
        return _callback_done(response)
    stored = done.next_path  # "<front origin><local path>" or just the origin
    match = re.match(r"^(https?://[^/]+)?(/.*)?$", stored)
    front, path = (match.group(1) or "", match.group(2) or "") if match else ("", "")
    if done.created or not done.user.roles:
        path = f"{routes.PROFILE}?welcome=1"
    response = _redirect(front + (path or home_for(done.user)))
    _set_session_cookie(response, done.token)
    return _callback_done(response)


@router.get(routes.DEV_OUTBOX, response_class=HTMLResponse)
def dev_outbox(to: str = "") -> HTMLResponse:
    """The embedded mail outbox as a page (development and tests only)."""
    settings = get_settings()
    if not settings.dev_pages or settings.mail_backend != "outbox":
        raise NotFound("The outbox page is only served with LABELHUB_DEV_PAGES=1.")
    from labelhub_app.adapters.mail import read_outbox

    rows = []
    for message in read_outbox(settings.resolved_outbox_dir, to=to, limit=50):
        body = html.escape(message.body)
        body = re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', body)
        rows.append(
            f"<article><h2>{html.escape(message.subject)}</h2><p><b>To:</b> "
            f"{html.escape(message.to)} · {html.escape(message.date)}</p><pre>{body}</pre>"
            "</article>"
        )
    content = "".join(rows) or "<p>No messages yet.</p>"
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'><title>Outbox · LabelHub</title>"
        "<style>body{font-family:system-ui;max-width:760px;margin:2em auto;padding:0 1em}"
        "article{border:1px solid #ddd;border-radius:10px;padding:0 1em;margin:1em 0}"
        "pre{white-space:pre-wrap}</style></head><body><h1>Mail outbox (development)</h1>"
        f"{content}</body></html>"
    )
