"""Request and response bodies of the REST API (``XCreate``/``XUpdate`` in, ``XPublic`` out).

Ids in URLs and bodies are the public UUIDs; money is integer cents; box coordinates are
original-image pixels with the origin at the top left (x right, y down; w, h the size).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from labelhub_app.services.accounts import UserPublic as _AccountView

MAX_CENTS = 2**53  # JSON-safe integers; services apply the real limits with clear messages


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- errors -----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["No such project among yours."])


class ErrorBody(BaseModel):
    error: ErrorDetail


# --- accounts and tokens -------------------------------------------------------------------------


class UserPublic(_Out):
    id: str
    email: str
    display_name: str
    pseudonym: str
    roles: list[str]
    is_admin: bool

    @classmethod
    def of(cls, view: _AccountView) -> UserPublic:
        return cls(
            id=view.public_id,
            email=view.email,
            display_name=view.display_name,
            pseudonym=view.pseudonym,
            roles=view.roles,
            is_admin=view.is_admin,
        )


class LoginCreate(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class LoginPublic(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in_days: int


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    expires_in_days: int | None = Field(
        default=None, ge=1, le=366, description="None: valid until revoked"
    )


class TokenPublic(_Out):
    id: str
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


class TokenCreatedPublic(TokenPublic):
    token: str = Field(description="The token itself. Shown only in this response: keep it safe.")


class TokensPublic(BaseModel):
    items: list[TokenPublic]
    next_cursor: str | None = None


# --- labels --------------------------------------------------------------------------------------


class LabelsPublic(BaseModel):
    labels: list[str]


class LabelCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    parent: str | None = Field(default=None, max_length=64)


class LabelPublic(BaseModel):
    name: str
    parent: str | None
    path: list[str] = Field(description="The label and its ancestors, root first")


# --- images --------------------------------------------------------------------------------------


class UploadResultPublic(BaseModel):
    file_name: str
    ok: bool
    message: str
    image_id: str | None = None
    duplicate_of: str | None = None
    near_duplicate_of: str | None = None


class UploadPublic(BaseModel):
    uploaded: int
    failed: int
    results: list[UploadResultPublic]


class OwnImagePublic(BaseModel):
    id: str
    file_name: str
    created_at: datetime
    labels: list[str]
    price_cents: int
    licence: str
    status: str
    sales_count: int
    income_cents: int
    near_duplicate: bool
    width: int
    height: int


class OwnImagesPublic(BaseModel):
    items: list[OwnImagePublic]
    total: int
    next_cursor: str | None


class ImagePublic(BaseModel):
    id: str
    file_name: str
    width: int
    height: int
    format: str
    size_bytes: int
    price_cents: int
    licence: str
    licence_text: str
    labels: list[str]
    producer: str = Field(description="The producer's pseudonym")
    created_at: datetime
    on_sale: bool
    owned: bool = Field(description="You bought it")
    is_own: bool = Field(description="You uploaded it")
    sales_count: int


class ImageUpdate(BaseModel):
    labels: list[str] | None = Field(default=None, max_length=200)
    price_cents: int | None = Field(default=None, ge=0, le=MAX_CENTS)
    licence: str | None = Field(default=None, max_length=32)
    on_sale: bool | None = None


# --- annotations ---------------------------------------------------------------------------------


class BoxUpdate(BaseModel):
    """A box as sent by a client: keep ``id`` for an existing box, leave it out for a new one."""

    id: str | None = Field(default=None, max_length=36)
    label: str = Field(min_length=1, max_length=64)
    x: float = Field(allow_inf_nan=False)
    y: float = Field(allow_inf_nan=False)
    w: float = Field(allow_inf_nan=False)
    h: float = Field(allow_inf_nan=False)
    source: Literal["human", "model"] = "human"
    score: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)


class BoxPublic(BaseModel):
    id: str
    label: str
    x: float
    y: float
    w: float
    h: float
    source: str
    score: float | None = None


class AnnotationsUpdate(BaseModel):
    boxes: list[BoxUpdate] = Field(max_length=5000)
    tags: list[str] | None = Field(
        default=None, max_length=200, description="None keeps the image's tags as they are"
    )


class AnnotationsPublic(BaseModel):
    image_id: str
    revision: int
    boxes: list[BoxPublic]
    tags: list[str]
    summary: str | None = Field(default=None, description="What a save changed")


class RevisionPublic(BaseModel):
    number: int
    author: str
    created_at: datetime
    kind: str
    summary: str
    restored_from: int | None


class RevisionsPublic(BaseModel):
    items: list[RevisionPublic]
    next_cursor: str | None


# --- search --------------------------------------------------------------------------------------


class MarketImagePublic(BaseModel):
    id: str
    file_name: str
    price_cents: int
    licence: str
    labels: list[str]
    producer: str
    width: int
    height: int
    sales_count: int
    owned: bool
    created_at: datetime


class FacetPublic(BaseModel):
    label: str
    count: int


class SearchPublic(BaseModel):
    items: list[MarketImagePublic]
    total: int = Field(description="All matches, not just this page")
    facets: list[FacetPublic] = Field(description="Label counts over all matches")
    unknown_labels: list[str]
    next_cursor: str | None


# --- projects ------------------------------------------------------------------------------------


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)


class ProjectUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    archived: bool | None = None


class ProjectPublic(BaseModel):
    id: str
    name: str
    archived: bool
    created_at: datetime
    items: int
    bought: int
    spent_cents: int
    to_buy_cents: int


class ProjectsPublic(BaseModel):
    items: list[ProjectPublic]
    next_cursor: str | None


class ProjectItemPublic(BaseModel):
    id: str
    file_name: str
    price_cents: int
    labels: list[str]
    producer: str
    bought: bool
    on_sale: bool


class ProjectDetailPublic(BaseModel):
    id: str
    name: str
    archived: bool
    items: list[ProjectItemPublic]
    to_buy_cents: int
    balance_cents: int


class ProjectItemsAdd(BaseModel):
    image_ids: list[str] = Field(min_length=1, max_length=500)


class ProjectItemsAdded(BaseModel):
    added: int


class BuyCreate(BaseModel):
    image_ids: list[str] = Field(min_length=1, max_length=500)
    licence: Literal["standard", "extended", "exclusive"] = Field(
        default="standard", description="The licence to buy every image under (#9)"
    )
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Or the Idempotency-Key header: a retry with the same key charges once",
    )


class PurchasePublic(BaseModel):
    id: str
    image_id: str
    price_cents: int
    licence: str
    created_at: datetime


class BuyPublic(BaseModel):
    purchases: list[PurchasePublic]
    balance_cents: int


class ProjectImagePublic(BaseModel):
    id: str
    file_name: str
    width: int
    height: int
    labels: list[str]
    boxes: list[BoxPublic]
    licence: str
    price_cents: int
    bought_at: datetime
    original_url: str


class ProjectImagesPublic(BaseModel):
    items: list[ProjectImagePublic]
    total: int
    next_cursor: str | None


# --- imports, operations, wallet ------------------------------------------------------------------


class ProblemPublic(BaseModel):
    source: str
    line: int | None
    record: str
    message: str


class ImportReportPublic(BaseModel):
    images_updated: int = Field(description="Images that got a new revision")
    images_matched: int = Field(description="Records matched to one of your images")
    boxes: int = Field(description="Boxes the file gives the matched images")
    tags: int = Field(description="Image-level labels the file gives the matched images")
    problems: list[ProblemPublic] = Field(description="What was not imported, and why")


class OperationPublic(BaseModel):
    created_at: datetime
    user: str
    action: str
    image_id: str
    file_name: str
    revision: int | None
    detail: str
    payload: dict[str, Any]


class OperationsPublic(BaseModel):
    items: list[OperationPublic]
    total: int
    next_cursor: str | None


class WalletPublic(BaseModel):
    balance_cents: int = Field(description="Spendable credits")
    income_cents: int = Field(description="Earned from sales (producers)")


class TopupCreate(BaseModel):
    amount_cents: int = Field(gt=0, le=MAX_CENTS)
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=64, description="Or the Idempotency-Key header"
    )
