"""All SQLAlchemy models; importing this module registers every table."""

from annotask.db.models.annotations import LabeledImage, LabeledShape, LabeledTrack, TrackedShape
from annotask.db.models.dataset_repos import DatasetRepository
from annotask.db.models.functions import AnnotationRequest, Function
from annotask.db.models.projects import AttributeSpec, Label, Project, Storage
from annotask.db.models.requests import (
    BackgroundRequest,
    PendingCreation,
    Upload,
    WorkerHeartbeat,
)
from annotask.db.models.tasks import Data, Frame, Job, Segment, Task, Video
from annotask.db.models.users import (
    AccessToken,
    AuthToken,
    KnownLoginAddress,
    LoginFailure,
    Session,
    User,
)

__all__ = [
    "AccessToken",
    "AnnotationRequest",
    "AttributeSpec",
    "AuthToken",
    "BackgroundRequest",
    "Data",
    "DatasetRepository",
    "Frame",
    "Function",
    "Job",
    "Label",
    "LabeledImage",
    "LabeledShape",
    "LabeledTrack",
    "KnownLoginAddress",
    "LoginFailure",
    "PendingCreation",
    "Project",
    "Segment",
    "Session",
    "Storage",
    "Task",
    "TrackedShape",
    "Upload",
    "User",
    "Video",
    "WorkerHeartbeat",
]
