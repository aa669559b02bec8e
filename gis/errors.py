"""The domain error tree. It knows nothing of HTTP: api/problems.py maps each class."""

from typing import Any


class FiberSyncError(Exception):
    """Base of every domain error; `errors` carries per-item details for the client."""

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(FiberSyncError):
    """The thing asked for does not exist."""


class Conflict(FiberSyncError):
    """The request clashes with the current state."""


class InvalidInput(FiberSyncError):
    """The input is well-formed but not acceptable."""


class UpstreamUnavailable(FiberSyncError):
    """A system we depend on (IQGeo) is not answering."""
