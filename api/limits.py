"""Request size limit, enforced before a body is read (also for chunked uploads)."""

import re

import orjson
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from `receive`, so FastAPI's problem handler answers it like any HTTP error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds the limit of {limit} bytes.")


def _problem_body(limit: int) -> bytes:
    return orjson.dumps({
        "type": "urn:fibersync:problem:content-too-large", "title": "Content Too Large",
        "status": 413, "detail": f"The request body exceeds the limit of {limit} bytes.",
    })


class BodySizeLimit:
    """`max_bytes` for every request; `path_limits` raises it for some paths (file uploads)."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 path_limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_max = max_bytes
        # Path patterns (regular expressions, matched whole) with their own limit.
        self.path_limits = [(re.compile(p), limit) for p, limit in (path_limits or {}).items()]

    def _limit(self, path: str) -> int:
        return next((limit for pattern, limit in self.path_limits
                     if pattern.fullmatch(path)), self.default_max)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send, limit)

    async def _reject(self, send: Send, limit: int) -> None:
        body = _problem_body(limit)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
