"""The domain error tree. It knows nothing of HTTP: api/problems.py maps each class."""

from typing import Any


class FiberSyncError(Exception):
    """Base of every domain error; `errors` carries per-item details for the client."""

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extensions = extensions  # extra members of the problem, e.g. `allowed`


class NotFound(FiberSyncError):
    """The thing asked for does not exist."""


class Conflict(FiberSyncError):
    """The request clashes with the current state."""


class InvalidInput(FiberSyncError):
    """The input is well-formed but not acceptable."""


class BadRequest(FiberSyncError):
    """The request asks for something that cannot exist (a tile outside the world)."""


class UpstreamUnavailable(FiberSyncError):
    """A system we depend on (IQGeo) is not answering."""


class TransitionNotAllowed(Conflict):
    """A status change the life cycle does not allow; `allowed` lists the ones it does."""

    def __init__(self, entity: str, current: str, wanted: str, allowed: list[str]) -> None:
        options = ", ".join(allowed) or "none"
        super().__init__(f"{entity} is {current} and cannot move to {wanted}; "
                         f"allowed: {options}", current=current, allowed=allowed)
