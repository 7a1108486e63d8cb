"""Accounts: sign up, sign in, sessions, profiles and roles; single sign-on and account security.

- Sessions: a random token whose SHA-256 is stored; it ends at its absolute expiry, after
  ``session_idle_minutes`` unused, or when revoked (sign out, per-session revoke, "sign out
  everywhere", a password reset). Browsers hold it in an HttpOnly cookie (api/routes/web_auth.py).
- Throttling: every password attempt is a row in ``login_attempts`` (so it holds across
  processes); too many failures for one email or from one address lock sign-in for a while.
- One-time links (password reset, email verification) store only their hash, expire, work once.
- OpenID Connect: the adapter checks the provider's answer; ``complete_oidc_sign_in`` links the
  identity to an account by issuer + subject, else by a *verified* email, else creates one.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from labelhub_app.adapters.identity.passwords import hash_password, needs_rehash, verify_password
from labelhub_app.config import get_settings
from labelhub_app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from labelhub_app.models import ROLES, AuthSession, User, utcnow
from labelhub_app.models.security import (
    TOKEN_RESET,
    TOKEN_VERIFY,
    AccountToken,
    ExternalIdentity,
    LoginAttempt,
    OidcLogin,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8

_ADJECTIVES = (  # noqa: SIM905  (one readable block of words)
    "amber azure bold brave bright calm clever coral crisp deft eager fleet gentle golden "
    "hazel jade keen lively lucid mellow misty noble nimble olive quiet rapid rosy sage "
    "silver sly steady sunny swift tidy vivid warm wise witty zesty"
).split()
_ANIMALS = (  # noqa: SIM905
    "badger beaver bison crane falcon ferret finch fox gecko heron ibis jackal koala lemur "
    "lynx marten mole newt ocelot otter owl panda puffin quail raven robin seal stoat swan "
    "tapir toucan vole walrus wren yak zebra"
).split()


@dataclass(frozen=True)
class UserPublic:
    """What a page may hold about the signed-in person (no hash, no tokens)."""

    public_id: str
    email: str
    display_name: str
    about: str
    pseudonym: str
    roles: list[str]
    is_admin: bool
    email_verified: bool = True

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(
            user.public_id,
            user.email,
            user.display_name,
            user.about,
            user.pseudonym,
            user.roles,
            user.is_admin,
            user.email_verified,
        )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_roles(roles: list[str] | tuple[str, ...] | set[str]) -> set[str]:
    chosen = {r.strip().lower() for r in roles if r.strip()}
    unknown = chosen - set(ROLES)
    if unknown:
        raise InvalidInput(f"Unknown role {sorted(unknown)[0]!r}; choose from {', '.join(ROLES)}.")
    if not chosen:
        raise InvalidInput("Choose at least one role: producer, consumer or reviewer.")
    return chosen


def _new_pseudonym(session: Session) -> str:
    for _ in range(50):
        name = (
            f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_ANIMALS)}-{secrets.randbelow(90) + 10}"
        )
        if session.exec(select(User.id).where(User.pseudonym == name)).first() is None:
            return name
    return f"labeller-{secrets.token_hex(4)}"


def sign_up(
    session: Session,
    *,
    email: str,
    password: str,
    roles: list[str] | tuple[str, ...] | set[str],
    display_name: str = "",
    email_verified: bool = True,
) -> User:
    """Create an account with an argon2 password hash and a generated pseudonym.

    This is the trusted path (the CLI, the demo data, tests, benchmarks): the address counts as
    verified unless ``email_verified=False``. People signing themselves up go through
    ``register``, which leaves it unverified and mails a verification link.
    """
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 320:
        raise InvalidInput("Enter a valid email address, like name@example.com.")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Choose a password of at least {MIN_PASSWORD} characters.")
    chosen = _check_roles(roles)
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict("An account with this email already exists. Sign in instead.")
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=display_name.strip()[:80] or email.split("@")[0],
        pseudonym=_new_pseudonym(session),
        email_verified_at=utcnow() if email_verified else None,
        **{f"is_{r}": r in chosen for r in ROLES},
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    if user.is_consumer:
        from labelhub_app.services.ledger import grant_welcome_credits

        grant_welcome_credits(session, user=user)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- sessions -----------------------------------------------------------------------------------

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session


class TooManyAttempts(NotAuthenticated):
    """Sign-in is locked for this email or address for a while."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def _open_session(
    session: Session, user: User, *, client_ip: str, user_agent: str, method: str
) -> str:
    """Add a session row for ``user`` (the caller commits); returns the token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        AuthSession(
            token_hash=_token_hash(token),
            user_id=user.id,  # type: ignore[arg-type]
            created_at=now,
            expires_at=now + timedelta(days=get_settings().session_days),
            last_seen_at=now,
            user_agent=(user_agent or "")[:300],
            client_ip=(client_ip or "")[:64],
            method=method,
        )
    )
    return token


def _minutes(seconds: float) -> str:
    n = max(1, math.ceil(seconds / 60))
    return "1 minute" if n == 1 else f"{n} minutes"


def _lockout_wait(session: Session, *, email: str, client_ip: str, now: datetime) -> float:
    """Seconds until sign-in is allowed again for this email and address (0: allowed now)."""
    s = get_settings()
    window_start = now - timedelta(minutes=s.login_window_minutes)
    lockout = timedelta(minutes=s.login_lockout_minutes)
    wait = 0.0
    last_ok = session.exec(
        select(func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == email,
            LoginAttempt.succeeded == True,  # noqa: E712
            col(LoginAttempt.created_at) > window_start,
        )
    ).one()
    since = max(window_start, last_ok) if last_ok is not None else window_start
    since = since if since.tzinfo else since.replace(tzinfo=now.tzinfo)
    failures = session.exec(
        select(LoginAttempt.created_at)
        .where(
            LoginAttempt.email == email,
            LoginAttempt.succeeded == False,  # noqa: E712
            col(LoginAttempt.created_at) > since,
        )
        .order_by(col(LoginAttempt.created_at).desc())
        .limit(s.login_max_failures_per_account)
    ).all()
    if len(failures) >= s.login_max_failures_per_account:
        wait = max(wait, (_aware(failures[0]) + lockout - now).total_seconds())
    if client_ip:
        by_address = session.exec(
            select(LoginAttempt.created_at)
            .where(
                LoginAttempt.client_ip == client_ip,
                LoginAttempt.succeeded == False,  # noqa: E712
                col(LoginAttempt.created_at) > window_start,
            )
            .order_by(col(LoginAttempt.created_at).desc())
            .limit(s.login_max_failures_per_address)
        ).all()
        if len(by_address) >= s.login_max_failures_per_address:
            wait = max(wait, (_aware(by_address[0]) + lockout - now).total_seconds())
    return max(0.0, wait)


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    client_ip: str = "",
    user_agent: str = "",
    method: str = "password",
) -> str:
    """Check the password and open a session; returns the session token (stored only hashed).

    Refused with ``TooManyAttempts`` while the email or the address is locked out (even with the
    right password); every attempt outside a lockout is recorded.
    """
    email = normalise_email(email)[:320]
    now = utcnow()
    wait = _lockout_wait(session, email=email, client_ip=client_ip, now=now)
    if wait > 0:
        raise TooManyAttempts(f"Too many attempts; try again in {_minutes(wait)}.", wait)
    user = session.exec(select(User).where(User.email == email)).first()
    ok = user is not None and verify_password(user.password_hash, password)
    session.add(LoginAttempt(email=email, client_ip=client_ip[:64], succeeded=ok, created_at=now))
    if not ok or user is None:
        session.commit()
        raise NotAuthenticated("Wrong email or password.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    token = _open_session(session, user, client_ip=client_ip, user_agent=user_agent, method=method)
    # attempts older than a day no longer matter to any window
    session.execute(
        delete(LoginAttempt).where(col(LoginAttempt.created_at) < now - timedelta(days=1))
    )
    session.commit()
    return token


def sign_out(session: Session, *, token: str) -> None:
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == _token_hash(token))
    ).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()


def _live(row: AuthSession | None, now: datetime) -> bool:
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return False
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    return now - (row.last_seen_at or row.created_at) <= idle


def _touch(session: Session, row: AuthSession, now: datetime) -> None:
    """Record use of a session, in its own short transaction (readers never commit theirs)."""
    if row.last_seen_at is not None and now - row.last_seen_at < TOUCH_EVERY:
        return
    if session.new or session.dirty or session.deleted:
        return  # the caller is mid-write; skip rather than wait on our own lock
    try:
        with Session(session.get_bind()) as other:
            other.execute(
                update(AuthSession).where(col(AuthSession.id) == row.id).values(last_seen_at=now)
            )
            other.commit()
    except OperationalError:
        return  # busy database: the next request records it
    row.last_seen_at = now


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The user of a live session token, or None (unknown, expired, idle too long or revoked)."""
    if not token:
        return None
    now = now or utcnow()
    row = session.exec(
        select(AuthSession).where(AuthSession.token_hash == _token_hash(token))
    ).first()
    if row is None or not _live(row, now):
        return None
    _touch(session, row, now)
    return session.get(User, row.user_id)


@dataclass(frozen=True)
class SessionInfo:
    """One signed-in browser or script, as its owner sees it on the profile page."""

    public_id: str
    device: str
    client_ip: str
    method: str
    created_at: datetime
    last_seen_at: datetime
    current: bool


def describe_user_agent(user_agent: str) -> str:
    """'Chrome on Linux' and the like, from a User-Agent header."""
    ua = user_agent or ""
    browser = next(
        (
            name
            for key, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("HeadlessChrome", "Headless Chrome"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
                ("python-httpx", "Python (httpx)"),
                ("python-requests", "Python (requests)"),
                ("curl/", "curl"),
                ("testclient", "Test client"),
            )
            if key in ua
        ),
        "",
    )
    system = next(
        (
            name
            for key, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if key in ua
        ),
        "",
    )
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"


def list_sessions(session: Session, *, actor: User, current_token: str = "") -> list[SessionInfo]:
    """The actor's live sessions, most recently used first."""
    now = utcnow()
    current_hash = _token_hash(current_token) if current_token else ""
    rows = session.exec(
        select(AuthSession).where(
            AuthSession.user_id == actor.id,
            col(AuthSession.revoked_at).is_(None),
            col(AuthSession.expires_at) > now,
        )
    ).all()
    infos = [
        SessionInfo(
            row.public_id,
            describe_user_agent(row.user_agent),
            row.client_ip,
            row.method,
            row.created_at,
            row.last_seen_at or row.created_at,
            bool(current_hash) and hmac.compare_digest(row.token_hash, current_hash),
        )
        for row in rows
        if _live(row, now)
    ]
    return sorted(infos, key=lambda i: i.last_seen_at, reverse=True)


def revoke_session(session: Session, *, actor: User, session_id: str) -> None:
    """End one of the actor's sessions (a lost laptop, a shared computer)."""
    row = session.exec(select(AuthSession).where(AuthSession.public_id == session_id)).first()
    if row is None or row.user_id != actor.id:
        raise NotFound("There is no such session of yours; it may have ended already.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()


def _revoke_all(session: Session, user_id: int, now: datetime) -> int:
    result = session.execute(
        update(AuthSession)
        .where(col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def sign_out_everywhere(session: Session, *, actor: User) -> int:
    """End every session of the actor, this browser's too; returns how many ended."""
    count = _revoke_all(session, actor.id, utcnow())  # type: ignore[arg-type]
    session.commit()
    return count


# --- one-time links: password reset and email verification -------------------------------------

RESETS_PER_HOUR = 5
RESEND_EVERY = timedelta(minutes=1)


def _base(base_url: str) -> str:
    return (get_settings().public_url or base_url).rstrip("/")


def _issue(session: Session, user: User, purpose: str, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        AccountToken(
            user_id=user.id,  # type: ignore[arg-type]
            purpose=purpose,
            token_hash=_token_hash(token),
            email=user.email,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


def _mail(to: str, subject: str, text: str) -> None:
    from labelhub_app.adapters.mail import compose, get_mailer

    settings = get_settings()
    get_mailer(settings).send(compose(sender=settings.mail_from, to=to, subject=subject, text=text))


def _valid_token(session: Session, token: str, purpose: str) -> AccountToken | None:
    if not token:
        return None
    row = session.exec(
        select(AccountToken).where(AccountToken.token_hash == _token_hash(token.strip()))
    ).first()
    if row is None or row.purpose != purpose or row.used_at is not None:
        return None
    if row.expires_at <= utcnow():
        return None
    return row


def request_password_reset(session: Session, *, email: str, base_url: str) -> None:
    """Mail a one-time reset link if the account exists; says nothing either way (no probing)."""
    email = normalise_email(email)
    if not _EMAIL.match(email):
        raise InvalidInput("Enter the email address of your account, like name@example.com.")
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        return
    recent = session.exec(
        select(func.count())
        .select_from(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == TOKEN_RESET,
            col(AccountToken.created_at) > utcnow() - timedelta(hours=1),
        )
    ).one()
    if recent >= RESETS_PER_HOUR:
        return  # enough links in the inbox already; silence keeps the answer the same
    minutes = get_settings().reset_token_minutes
    token = _issue(session, user, TOKEN_RESET, timedelta(minutes=minutes))
    session.commit()
    from labelhub_app import routes

    link = f"{_base(base_url)}{routes.RESET_PASSWORD}?token={token}"
    _mail(
        user.email,
        "Reset your LabelHub password",
        f"Hello {user.display_name},\n\nSomeone (hopefully you) asked to reset the password of "
        f"your LabelHub account.\nOpen this link to choose a new password; it works once, for "
        f"{minutes} minutes:\n\n{link}\n\nIf you did not ask for this, ignore this email: your "
        "password stays as it is.\n",
    )


def check_reset_token(session: Session, *, token: str) -> str:
    """The email a reset link belongs to, or an error saying the link cannot be used."""
    row = _valid_token(session, token, TOKEN_RESET)
    if row is None:
        raise InvalidInput(
            "This password reset link cannot be used: it expired or was used already. Ask for "
            "a new one."
        )
    return row.email


def reset_password(session: Session, *, token: str, password: str) -> User:
    """Set a new password with a reset link; the link is spent and every session ends."""
    row = _valid_token(session, token, TOKEN_RESET)
    if row is None:
        raise InvalidInput(
            "This password reset link cannot be used: it expired or was used already. Ask for "
            "a new one."
        )
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"Choose a password of at least {MIN_PASSWORD} characters.")
    user = session.get(User, row.user_id)
    if user is None:
        raise NotFound("This account no longer exists.")
    now = utcnow()
    session.execute(  # this link and every other outstanding reset link of the account
        update(AccountToken)
        .where(
            col(AccountToken.user_id) == user.id,
            AccountToken.purpose == TOKEN_RESET,
            col(AccountToken.used_at).is_(None),
        )
        .values(used_at=now)
    )
    user.password_hash = hash_password(password)
    if row.email == user.email and user.email_verified_at is None:
        user.email_verified_at = now  # the link reached this inbox: the address is proven
    session.add(user)
    _revoke_all(session, user.id, now)  # type: ignore[arg-type]
    # a success clears the account's failure count, so the new password works at once
    session.add(LoginAttempt(email=user.email, client_ip="", succeeded=True, created_at=now))
    session.commit()
    return user


def send_verification_email(session: Session, *, user: User, base_url: str) -> None:
    """Mail a link that proves the person reads ``user.email``."""
    hours = get_settings().verify_token_hours
    token = _issue(session, user, TOKEN_VERIFY, timedelta(hours=hours))
    session.commit()
    from labelhub_app import routes

    link = f"{_base(base_url)}{routes.VERIFY_EMAIL}?token={token}"
    _mail(
        user.email,
        "Verify your email address for LabelHub",
        f"Hello {user.display_name},\n\nPlease confirm that this is your email address by "
        f"opening this link (it works for {hours} hours):\n\n{link}\n\nOnce it is verified you "
        "can put your images on sale.\n",
    )


def resend_verification(session: Session, *, actor: User, base_url: str) -> None:
    if actor.email_verified:
        raise Conflict("Your email address is verified already.")
    last = session.exec(
        select(func.max(AccountToken.created_at)).where(
            AccountToken.user_id == actor.id, AccountToken.purpose == TOKEN_VERIFY
        )
    ).one()
    if last is not None and utcnow() - _aware(last) < RESEND_EVERY:
        raise InvalidInput(
            f"We sent a verification email to {actor.email} less than a minute ago; check your "
            "inbox (and spam folder)."
        )
    send_verification_email(session, user=actor, base_url=base_url)


def verify_email(session: Session, *, token: str) -> User:
    """Mark the address verified with a mailed link (a spent or old link explains itself)."""
    row = _valid_token(session, token, TOKEN_VERIFY)
    if row is None:
        raise InvalidInput(
            "This verification link cannot be used: it expired or was used already. Sign in "
            "and send a new one from your dashboard."
        )
    user = session.get(User, row.user_id)
    if user is None:
        raise NotFound("This account no longer exists.")
    if row.email != user.email:
        raise InvalidInput("This link was sent to an address your account no longer uses.")
    now = utcnow()
    row.used_at = now
    if user.email_verified_at is None:
        user.email_verified_at = now
    session.add_all([row, user])
    session.commit()
    return user


def may_sell(user: User) -> bool:
    return user.email_verified or user.is_admin


def require_verified_email(user: User) -> None:
    """Selling needs a verified address: buyers and payouts must reach a real person."""
    if not may_sell(user):
        raise Forbidden(
            f"Verify your email address before selling: open the link we sent to {user.email}, "
            "or send a new one from your dashboard."
        )


def register(
    session: Session,
    *,
    email: str,
    password: str,
    roles: list[str] | tuple[str, ...] | set[str],
    display_name: str = "",
    base_url: str,
) -> User:
    """Self-service sign-up: the account starts unverified and a verification link is mailed."""
    user = sign_up(
        session,
        email=email,
        password=password,
        roles=roles,
        display_name=display_name,
        email_verified=False,
    )
    send_verification_email(session, user=user, base_url=base_url)
    return user


# --- OpenID Connect single sign-on --------------------------------------------------------------

OIDC_LOGIN_TTL = timedelta(minutes=10)


def oidc_provider_name() -> str:
    """The provider's display name, or "" when single sign-on is not configured."""
    from labelhub_app.adapters.identity.oidc import ProviderConfig

    provider = ProviderConfig.from_settings()
    return provider.name if provider else ""


def _provider():  # type: ignore[no-untyped-def]
    from labelhub_app.adapters.identity.oidc import ProviderConfig

    provider = ProviderConfig.from_settings()
    if provider is None:
        raise NotFound("Single sign-on is not set up here; sign in with your email and password.")
    return provider


def safe_next(path: str) -> str:
    """A local path to go to after signing in (never another site)."""
    path = (path or "").strip()
    if path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path[:500]
    return ""


def _safe_return(url: str) -> str:
    """An origin the route vouched for plus a local path, or a local path; else ''."""
    match = re.match(r"^(https?://[^/\s?#]+)?(/.*)?$", (url or "").strip())
    if not match:
        return ""
    path = safe_next(match.group(2) or "") if match.group(2) else ""
    return f"{match.group(1) or ''}{path}"[:500]


def begin_oidc_sign_in(session: Session, *, redirect_uri: str, next_path: str = ""):  # type: ignore[no-untyped-def]
    """Remember a new state, nonce and PKCE verifier; returns the request (``url``, ``state``)."""
    from labelhub_app.adapters.identity import oidc

    request = oidc.start(_provider(), redirect_uri=redirect_uri)
    now = utcnow()
    session.execute(delete(OidcLogin).where(col(OidcLogin.created_at) < now - OIDC_LOGIN_TTL))
    session.add(
        OidcLogin(
            state_hash=_token_hash(request.state),
            nonce=request.nonce,
            code_verifier=request.code_verifier,
            redirect_uri=redirect_uri,
            next_path=_safe_return(next_path),
            created_at=now,
        )
    )
    session.commit()
    return request


@dataclass(frozen=True)
class OidcSignIn:
    token: str
    user: UserPublic
    created: bool  # a new account: the person chooses roles next
    next_path: str


def _link_identity(session: Session, identity, provider_name: str) -> tuple[User, bool]:  # type: ignore[no-untyped-def]
    now = utcnow()
    link = session.exec(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == identity.issuer,
            ExternalIdentity.subject == identity.subject,
        )
    ).first()
    if link is not None:
        user = session.get(User, link.user_id)
        if user is None:
            raise NotFound("The account linked to this sign-in no longer exists.")
        link.last_login_at = now
        link.email = identity.email[:320]
        if identity.email_verified and normalise_email(identity.email) == user.email:
            user.email_verified_at = user.email_verified_at or now
        session.add_all([link, user])
        return user, False
    email = normalise_email(identity.email)
    if not email or not _EMAIL.match(email):
        raise InvalidInput(
            f"{provider_name} did not share an email address with LabelHub; allow it to and "
            "sign in again."
        )
    user = session.exec(select(User).where(User.email == email)).first()
    created = False
    if user is not None:
        if not identity.email_verified:
            raise Conflict(
                f"An account with {email} already exists and {provider_name} has not verified "
                "that address, so they cannot be linked. Sign in with your password instead."
            )
        if user.email_verified_at is None:
            # Someone signed up with this address without proving it; the provider now proves
            # whose it is. Whatever password they chose, and their sessions, go.
            user.password_hash = ""
            user.email_verified_at = now
            _revoke_all(session, user.id, now)  # type: ignore[arg-type]
    else:
        user = User(
            email=email,
            password_hash="",  # no local password until they set one with a reset link
            display_name=(identity.name.strip() or email.split("@")[0])[:80],
            pseudonym=_new_pseudonym(session),
            email_verified_at=now if identity.email_verified else None,
        )
        created = True
    session.add(user)
    session.flush()
    session.add(
        ExternalIdentity(
            user_id=user.id,  # type: ignore[arg-type]
            issuer=identity.issuer,
            subject=identity.subject,
            email=email,
            created_at=now,
            last_login_at=now,
        )
    )
    return user, created


def complete_oidc_sign_in(
    session: Session,
    *,
    state: str,
    browser_state: str,
    code: str,
    error: str = "",
    base_url: str = "",
    client_ip: str = "",
    user_agent: str = "",
) -> OidcSignIn:
    """Check the provider's answer and open a session for the linked (or new) account.

    ``state`` comes back in the callback URL; ``browser_state`` is what this browser was given
    when it left (an HttpOnly cookie). They must match, and the state is good for one use.
    """
    from labelhub_app.adapters.identity import oidc

    provider = _provider()
    if error:
        raise NotAuthenticated(f"{provider.name} did not sign you in ({error[:100]}).")
    if not state or not browser_state or not hmac.compare_digest(state, browser_state):
        raise NotAuthenticated(
            "This sign-in was not started in this browser (its state does not match). Start "
            "again from the sign-in page."
        )
    row = session.exec(select(OidcLogin).where(OidcLogin.state_hash == _token_hash(state))).first()
    if row is None or utcnow() - _aware(row.created_at) > OIDC_LOGIN_TTL:
        raise NotAuthenticated(
            "This sign-in expired or was used already. Start again from the sign-in page."
        )
    nonce, verifier, redirect_uri, next_path = (
        row.nonce,
        row.code_verifier,
        row.redirect_uri,
        row.next_path,
    )
    session.delete(row)  # one use, whatever happens next
    session.commit()
    if not code:
        raise NotAuthenticated(f"{provider.name} sent no authorization code; start again.")
    identity = oidc.finish(
        provider, code=code, redirect_uri=redirect_uri, code_verifier=verifier, nonce=nonce
    )
    user, created = _link_identity(session, identity, provider.name)
    token = _open_session(session, user, client_ip=client_ip, user_agent=user_agent, method="oidc")
    session.commit()
    session.refresh(user)
    # links in mail go to the pages the person started from (kept with the login), else base_url
    front = re.match(r"^https?://[^/]+", next_path)
    if created and not user.email_verified and (front or base_url):
        send_verification_email(session, user=user, base_url=front.group(0) if front else base_url)
    return OidcSignIn(token, UserPublic.of(user), created, next_path)


def update_profile(
    session: Session,
    *,
    actor: User,
    display_name: str | None = None,
    about: str | None = None,
    roles: list[str] | None = None,
) -> User:
    if display_name is not None:
        display_name = display_name.strip()
        if not display_name:
            raise InvalidInput("Display name cannot be empty.")
        if len(display_name) > 80:
            raise InvalidInput("Display name is too long (80 characters at most).")
        actor.display_name = display_name
    if about is not None:
        if len(about) > 2000:
            raise InvalidInput("About is too long (2,000 characters at most).")
        actor.about = about.strip()
    if roles is not None:
        chosen = _check_roles(roles)
        became_consumer = "consumer" in chosen and not actor.is_consumer
        for r in ROLES:
            setattr(actor, f"is_{r}", r in chosen)
    else:
        became_consumer = False
    session.add(actor)
    session.commit()
    session.refresh(actor)
    if became_consumer:
        from labelhub_app.services.ledger import grant_welcome_credits

        grant_welcome_credits(session, user=actor)
    return actor


def require_role(user: User | None, role: str) -> User:
    """The user if signed in and holding ``role``; else a NotAuthenticated / Forbidden error."""
    if user is None:
        raise NotAuthenticated("Sign in first.")
    if not getattr(user, f"is_{role}", False) and not user.is_admin:
        raise Forbidden(f"This needs the {role} role; add it on your profile page.")
    return user


def set_admin(session: Session, *, email: str, admin: bool = True) -> User:
    """Grant or take back the admin flag (the `labelhub make-admin` command; no page does this)."""
    from labelhub_app.errors import NotFound

    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None:
        raise NotFound(f"There is no account with the email {email}.")
    user.is_admin = admin
    session.add(user)
    session.commit()
    return user
