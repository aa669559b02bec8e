"""Everything the IQGeo client raises, in one tree."""

from typing import Any


class IQGeoError(Exception):
    """Base of all IQGeo connector errors."""


class IQGeoUnavailable(IQGeoError):
    """IQGeo could not be reached or kept failing transiently after every retry.
    `retry_after` is the wait IQGeo's proxy last asked for (429 Retry-After), if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:  # raised in a reader process, re-raised here
        return type(self), (str(self), self.retry_after)


class IQGeoAuthError(IQGeoError):
    """Login refused, or still refused after logging in again."""


class IQGeoNotFound(IQGeoError):
    """404: unknown feature type or id."""


class IQGeoProtocolError(IQGeoError):
    """A reply that does not have the shape IQGeo documents."""


class IQGeoAbort(IQGeoError):
    """IQGeo's application error (502 `mywAbort:`): permanent, never retried."""

    def __init__(self, msg: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(f"IQGeo refused: {msg} {params or ''}".strip())
        self.msg = msg
        self.params = params or {}

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.msg, self.params)
