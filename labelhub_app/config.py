"""Settings for every LabelHub process (app, CLI, worker), read from LABELHUB_* env vars or .env.

The defaults are the embedded mode: SQLite in WAL mode, a local file store, the in-process search
index and the internal credits ledger, all under ``data_dir``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SESSION_COOKIE = "lh_session"  # the browser session token (see state/auth.py)


class Settings(BaseSettings):
    """One settings object; ``get_settings()`` returns the process-wide instance."""

    model_config = SettingsConfigDict(env_prefix="LABELHUB_", env_file=".env", extra="ignore")

    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str = ""  # empty: sqlite file in data_dir
    storage_backend: Literal["local"] = "local"
    storage_path: Path | None = None  # default: data_dir / "objects"
    search_backend: Literal["embedded"] = "embedded"

    # Market rules
    commission_bps: int = Field(2000, ge=0, le=10_000, description="platform share, basis points")
    demo_credits_cents: int = Field(100_00, ge=0)
    max_topup_cents: int = Field(1_000_00, gt=0)
    max_price_cents: int = Field(1_000_000_00, gt=0)

    # Upload pipeline limits
    max_upload_bytes: int = 50 * 1024 * 1024
    max_image_pixels: int = 50_000_000  # larger is refused as a decompression bomb
    max_image_side: int = 20_000
    thumbnail_sizes: tuple[int, ...] = (256, 1024)

    session_days: int = Field(30, gt=0)
    dev_pages: bool = (
        False  # serve /dev/* playgrounds (the box editor's), for tests and development
    )

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the CLI call this after changing env vars)."""
    get_settings.cache_clear()
