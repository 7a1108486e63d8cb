"""Settings for every LabelHub process (app, CLI, worker), read from LABELHUB_* env vars or .env.

The defaults are the embedded mode: SQLite in WAL mode, a local file store, the in-process search
index and the internal credits ledger, all under ``data_dir``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SESSION_COOKIE = "lh_session"  # the browser session token (see state/auth.py)


class Settings(BaseSettings):
    """One settings object; ``get_settings()`` returns the process-wide instance."""

    model_config = SettingsConfigDict(
        env_prefix="LABELHUB_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = ""  # empty: sqlite file in data_dir
    # Connection pool (PostgreSQL; SQLite keeps SQLAlchemy's per-thread defaults)
    db_pool_size: int = Field(10, ge=1, description="connections kept open per process")
    db_max_overflow: int = Field(10, ge=0, description="extra connections under load")
    db_pool_timeout_s: float = Field(30.0, gt=0, description="wait for a free connection")
    db_pool_recycle_s: int = Field(1800, ge=-1, description="reconnect after (-1: never)")
    db_pool_pre_ping: bool = True  # test a pooled connection before use (survives restarts)
    db_connect_timeout_s: int = Field(10, ge=1, description="TCP connect timeout")
    db_statement_timeout_ms: int = Field(0, ge=0, description="0: none")
    pg_bindir: Path | None = None  # pg_dump/pg_restore folder; default: newest installed PostgreSQL
    # Object store (LABELHUB_STORAGE=local|s3) and search index
    # (LABELHUB_SEARCH=embedded|opensearch); LABELHUB_STORAGE_BACKEND / _SEARCH_BACKEND work too.
    storage_backend: Literal["local", "s3"] = Field(
        "local", validation_alias=AliasChoices("LABELHUB_STORAGE", "LABELHUB_STORAGE_BACKEND")
    )
    storage_path: Path | None = None  # default: data_dir / "objects"
    s3_endpoint_url: str = ""  # empty: AWS itself; e.g. http://127.0.0.1:8333 for SeaweedFS/MinIO
    s3_bucket: str = "labelhub"
    s3_access_key: str = ""  # empty: boto3's usual credential chain (env, profile, instance role)
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    s3_presign_expiry_s: int = Field(300, ge=1, le=7 * 24 * 3600)  # image and download links
    s3_multipart_threshold_bytes: int = Field(16 * 1024 * 1024, ge=5 * 1024 * 1024)
    s3_create_bucket: bool = False  # create the bucket on first use (development, tests)
    search_backend: Literal["embedded", "opensearch"] = Field(
        "embedded", validation_alias=AliasChoices("LABELHUB_SEARCH", "LABELHUB_SEARCH_BACKEND")
    )
    opensearch_url: str = "http://127.0.0.1:9200"  # may carry user:password@
    opensearch_index: str = "labelhub-images"  # the alias; real indexes are <alias>-<timestamp>
    opensearch_verify_certs: bool = True
    # Redis shared by every app process (rate limits; Reflex's own state store reads
    # REFLEX_REDIS_URL). Empty: in-process rate limits, one worker.
    redis_url: str = Field(
        "", validation_alias=AliasChoices("LABELHUB_REDIS_URL", "REFLEX_REDIS_URL")
    )

    # Market rules
    commission_bps: int = Field(2000, ge=0, le=10_000, description="platform share, basis points")
    demo_credits_cents: int = Field(100_00, ge=0)
    max_topup_cents: int = Field(1_000_00, gt=0)
    max_price_cents: int = Field(1_000_000_00, gt=0)

    # Payments (#9): the internal credits ledger by default; "stripe" takes cards through
    # PaymentIntents (stripe_api_base points the stripe library at localstripe in tests).
    payments: Literal["internal", "stripe"] = "internal"
    stripe_api_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""  # empty: https://api.stripe.com
    currency: str = Field("usd", min_length=3, max_length=3)
    refund_window_days: int = Field(14, ge=0)  # income stays pending this long after a sale
    min_payout_cents: int = Field(1_00, gt=0)

    # Upload pipeline limits
    max_upload_bytes: int = 50 * 1024 * 1024
    max_image_pixels: int = 50_000_000  # larger is refused as a decompression bomb
    max_image_side: int = 20_000
    thumbnail_sizes: tuple[int, ...] = (256, 1024)

    session_days: int = Field(30, gt=0)  # absolute lifetime of a sign-in session
    # Sign-in and accounts (#9 identity; see README "Sign-in and accounts")
    session_idle_minutes: int = Field(7 * 24 * 60, gt=0)  # a session unused this long ends
    session_cookie_secure: bool = False  # True behind HTTPS: the browser sends it only over TLS
    login_window_minutes: int = Field(15, gt=0)  # failed sign-ins counted over this window
    login_max_failures_per_account: int = Field(5, gt=0)
    login_max_failures_per_address: int = Field(20, gt=0)
    login_lockout_minutes: int = Field(5, gt=0)
    reset_token_minutes: int = Field(60, gt=0)  # a password reset link works this long, once
    verify_token_hours: int = Field(72, gt=0)  # an email verification link works this long
    public_url: str = ""  # origin for links in emails; empty: the origin of the request
    mail_backend: Literal["outbox", "smtp"] = "outbox"  # outbox: .eml files in mail_outbox_dir
    mail_outbox_dir: Path | None = None  # default: data_dir / "outbox"
    mail_from: str = "LabelHub <no-reply@labelhub.local>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    oidc_issuer: str = ""  # empty: single sign-on off; else the provider's issuer URL
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_provider_name: str = "single sign-on"  # the button reads "Sign in with <name>"
    oidc_scopes: str = "openid email profile"
    dev_pages: bool = (
        False  # serve /dev/* playgrounds (the box editor's), for tests and development
    )

    # Auto-labelling (#6): the job queue, the inference worker and the detector
    job_lease_s: int = Field(60, gt=0, description="a worker's lease, renewed by heartbeats")
    job_backoff_s: float = Field(10.0, ge=0, description="first retry delay; doubles per attempt")
    retrain_after_corrections: int = Field(
        200, ge=0, description="human box edits since the last training that start one (0: never)"
    )
    detector_arch: Literal["small", "mobilenet", "resnet50"] = "small"  # small: CPU-friendly
    detector_weights: Path | None = None  # a checkpoint to start training from (e.g. COCO)
    detector_heldout_percent: int = Field(20, ge=1, le=90)
    detector_image_size: int = Field(320, ge=64)  # longest side the detector sees
    detector_train_seconds: float = Field(300.0, gt=0, description="training time budget")
    detector_min_ap50: float = Field(0.3, ge=0, le=1, description="a first model needs this")
    suggestion_min_score: float = Field(0.4, ge=0, le=1)
    worker_batch_size: int = Field(8, gt=0)
    worker_idle_max_s: float = Field(5.0, gt=0, description="longest sleep between idle polls")

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value if value.is_absolute() else (PROJECT_ROOT / value)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'labelhub.db'}"

    @property
    def resolved_storage_path(self) -> Path:
        return self.storage_path or self.data_dir / "objects"

    @property
    def resolved_outbox_dir(self) -> Path:
        return self.mail_outbox_dir or self.data_dir / "outbox"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the CLI call this after changing env vars)."""
    get_settings.cache_clear()
