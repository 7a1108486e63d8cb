"""Domain errors. Each carries a message a person can act on; pages and the API show it as is."""

from __future__ import annotations


class LabelHubError(Exception):
    """Base of every error a user may see."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(LabelHubError):
    code = "not_found"


class Forbidden(LabelHubError):
    code = "forbidden"


class Conflict(LabelHubError):
    code = "conflict"


class InvalidInput(LabelHubError):
    code = "invalid_input"


class NotAuthenticated(LabelHubError):
    code = "not_authenticated"


class Unavailable(LabelHubError):
    """A backend (the database, the object store) cannot be reached; trying again later may work."""

    code = "unavailable"
