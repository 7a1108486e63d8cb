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
from labelhub_app.models.campaigns import (  # noqa: F401  (#7 campaigns; import from the module)
    Campaign,
    CampaignAnswer,
    CampaignImage,
    CampaignLabeller,
    CampaignResult,
    CampaignTask,
    CampaignTaskItem,
)
from labelhub_app.models.images import (
    LICENCES,
    STATUS_ON_SALE,
    STATUS_WITHDRAWN,
    Image,
    ImageLabel,
    SearchOutbox,
)
from labelhub_app.models.jobs import Job, ModelVersion
from labelhub_app.models.labels import Label
from labelhub_app.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction
from labelhub_app.models.licences import ImageOffer, LicenceText  # noqa: F401  (#9 licences)
from labelhub_app.models.market import Project, ProjectItem, Purchase
from labelhub_app.models.payments import Payment, Payout, Refund, WebhookEvent  # noqa: F401  (#9)
from labelhub_app.models.reviews import (
    GoldItem,
    GoldResult,
    ProducerReputation,
    Rating,
    Review,
    ReviewRequest,
)
from labelhub_app.models.search_dispatch import SearchDispatchCursor  # noqa: F401  (#8)
from labelhub_app.models.security import (  # noqa: F401  (#9 identity)
    AccountToken,
    ExternalIdentity,
    LoginAttempt,
    OidcLogin,
)
from labelhub_app.models.suggestions import SuggestionDecision
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
    "GoldItem",
    "GoldResult",
    "Image",
    "ImageLabel",
    "Job",
    "Label",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "ModelVersion",
    "Operation",
    "ProducerReputation",
    "Project",
    "ProjectItem",
    "Purchase",
    "Rating",
    "Review",
    "ReviewRequest",
    "SearchOutbox",
    "SuggestionDecision",
    "User",
    "utcnow",
]
