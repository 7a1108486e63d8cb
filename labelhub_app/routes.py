"""Every page's route in one place, with builders for routes that take an id."""

MARKET = "/"
SIGN_IN = "/signin"
SIGN_UP = "/signup"
PROFILE = "/profile"
UPLOAD = "/upload"
DASHBOARD = "/dashboard"
PROJECTS = "/projects"
PROJECT = "/projects/[project_id]"
PURCHASES = "/purchases"
IMAGE = "/images/[image_id]"
LABELS = "/labels"
LABEL = "/label/[image_id]"
LABEL_STREAM = "/label"
ACTIVITY = "/activity"


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
