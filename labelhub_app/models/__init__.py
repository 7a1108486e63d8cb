"""All tables, imported here so that SQLModel.metadata (and Alembic) sees every one."""

from labelhub_app.models._base import utcnow
from labelhub_app.models.accounts import ROLES, AuthSession, User
from labelhub_app.models.annotations import (
    SOURCE_HUMAN,
    SOURCE_MODEL,
    AnnotationRevision,
    Box,
    Operation,
)
from labelhub_app.models.images import (
    LICENCES,
    STATUS_ON_SALE,
    STATUS_WITHDRAWN,
    Image,
    ImageLabel,
    SearchOutbox,
)
from labelhub_app.models.labels import Label
from labelhub_app.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction
from labelhub_app.models.market import Project, ProjectItem, Purchase
from labelhub_app.models.tokens import AccessToken

__all__ = [
    "LICENCES",
    "ROLES",
    "SOURCE_HUMAN",
    "SOURCE_MODEL",
    "STATUS_ON_SALE",
    "STATUS_WITHDRAWN",
    "AccessToken",
    "AnnotationRevision",
    "AuthSession",
    "Box",
    "Image",
    "ImageLabel",
    "Label",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "Operation",
    "Project",
    "ProjectItem",
    "Purchase",
    "SearchOutbox",
    "User",
    "utcnow",
]
