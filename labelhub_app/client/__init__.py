"""LabelHub's Python dataset client: the REST API, a download cache, detection datasets.

Imports without torch; only :class:`LabelHubDetectionDataset`'s tensors need it.
"""

from labelhub_app.client.api import (
    ExportResult,
    LabelHubApiError,
    LabelHubClient,
    RemoteBox,
    RemoteImage,
    RemoteProject,
)
from labelhub_app.client.detection import LabelHubDetection, LabelHubDetectionDataset, collate

__all__ = [
    "ExportResult",
    "LabelHubApiError",
    "LabelHubClient",
    "LabelHubDetection",
    "LabelHubDetectionDataset",
    "RemoteBox",
    "RemoteImage",
    "RemoteProject",
    "collate",
]
