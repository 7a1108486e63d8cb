"""Every page's route in one place, with builders for routes that take an id."""

MARKET = "/"
SIGN_IN = "/signin"
SIGN_UP = "/signup"
FORGOT_PASSWORD = "/forgot-password"
RESET_PASSWORD = "/reset-password"  # ?token=... (the link in the reset email)
# Browser sign-in routes served by the backend (they set or clear the HttpOnly session cookie)
AUTH_SIGN_IN = "/auth/signin"
AUTH_SIGN_UP = "/auth/signup"
AUTH_SIGN_OUT = "/auth/signout"
OIDC_LOGIN = "/auth/oidc/login"
OIDC_CALLBACK = "/auth/oidc/callback"
VERIFY_EMAIL = "/verify-email"  # ?token=... (the link in the verification email)
DEV_OUTBOX = "/dev/outbox"  # the mail outbox, only with LABELHUB_DEV_PAGES
PROFILE = "/profile"
UPLOAD = "/upload"
DASHBOARD = "/dashboard"
PROJECTS = "/projects"
PROJECT = "/projects/[project_id]"
PURCHASES = "/purchases"
WALLET = "/wallet"  # #9 card top-ups through Stripe
PAYOUTS = "/payouts"  # #9 producers' payouts
IMAGE = "/images/[image_id]"
LABELS = "/labels"
LABEL = "/label/[image_id]"
LABEL_STREAM = "/label"
ACTIVITY = "/activity"
REVIEW = "/review"  # #7 the reviewers' queue
CAMPAIGNS = "/campaigns"  # #7 labelling campaigns
CAMPAIGN = "/campaigns/[campaign_id]"
CAMPAIGN_TILES = "/campaigns/[campaign_id]/tiles"
CAMPAIGN_BOXES = "/campaigns/[campaign_id]/boxes"
JOBS = "/jobs"
MODELS = "/models"


def campaign(campaign_id: str) -> str:
    return f"/campaigns/{campaign_id}"


def project(project_id: str) -> str:
    return f"/projects/{project_id}"


def label(image_id: str) -> str:
    return f"/label/{image_id}"


def image(image_id: str) -> str:
    return f"/images/{image_id}"


API = "/api/v1"


def thumb_url(base: str, image_id: str, size: int = 256) -> str:
    return f"{base}{API}/images/{image_id}/thumb/{size}"


def download_url(base: str, project_id: str) -> str:
    return f"{base}{API}/projects/{project_id}/download"
