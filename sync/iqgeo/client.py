"""A synchronous IQGeo client: session + CSRF auth, paging, retries that respect IQGeo's errors."""

import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson

from sync.iqgeo.errors import (
    IQGeoAbort,
    IQGeoAuthError,
    IQGeoNotFound,
    IQGeoProtocolError,
    IQGeoUnavailable,
)
from sync.iqgeo.settings import IQGeoSettings

logger = logging.getLogger(__name__)

Feature = dict[str, Any]
TRANSIENT_STATUSES = {500, 502, 503, 504}


class _Transient(Exception):
    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


class IQGeoClient:
    """One logged-in session. Not thread-safe: use one client per thread."""

    def __init__(self, settings: IQGeoSettings, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not settings.url:
            raise ValueError("IQGEO_URL is not set")
        self.settings = settings
        self._sleep = sleep
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self._http = httpx.Client(base_url=settings.url.rstrip("/"), timeout=timeout,
                                  transport=transport)
        self._csrf: str | None = None
        self.retries = 0  # transient failures survived, for progress and tests
        self.last_total: int | None = None  # the layer size IQGeo last reported

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "IQGeoClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- session ---------------------------------------------------------------------------
    def login(self) -> None:
        self._http.cookies.clear()
        data = {"user": self.settings.user, "pass": self.settings.password.get_secret_value()}
        response = self._send("POST", "/auth", data=data)
        if response.status_code in (401, 403):
            raise IQGeoAuthError(f"IQGeo login refused for user {self.settings.user!r}")
        if response.status_code >= 400:
            self._raise_for_status(response)
        self._csrf = response.cookies.get("csrf_token") or response.text.strip()

    # -- requests --------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with auth; log in again once on 401 or a stale CSRF token; retry transients."""
        relogged = False
        attempt = 0
        while True:
            try:
                if self._csrf is None:
                    self.login()
                response = self._send(method, path, headers=self._headers(method), **kwargs)
                if self._needs_login(response, method) and not relogged:
                    relogged = True
                    self._csrf = None
                    continue
                self._raise_for_status(response)
                return response
            except _Transient as failure:
                attempt += 1
                # A Retry-After longer than we wait inside one call goes back to the caller.
                too_long = failure.wait is not None and \
                    failure.wait > self.settings.retry_after_cap
                if attempt >= self.settings.max_attempts or too_long:
                    raise IQGeoUnavailable(f"{method} {path}: {failure} "
                                           f"(gave up after {attempt} attempts)",
                                           failure.wait) from None
                self.retries += 1
                wait = failure.wait if failure.wait is not None else self._backoff(attempt)
                logger.warning("IQGeo %s %s failed (%s); retry %d in %.1fs",
                               method, path, failure, attempt, wait)
                self._sleep(wait)

    def _headers(self, method: str) -> dict[str, str]:
        return {} if method in ("GET", "HEAD") else {"X-CSRF-Token": self._csrf or ""}

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.TransportError, httpx.DecodingError) as error:
            raise _Transient(f"{type(error).__name__}: {error}") from None
        # httpx links a response and its (already read) stream both ways; unlinking them lets
        # a page's body be freed as soon as it is parsed instead of at the next GC pass.
        response.stream = httpx.ByteStream(b"")
        return response

    @staticmethod
    def _needs_login(response: httpx.Response, method: str) -> bool:
        if response.status_code == 401:
            return True
        if response.is_redirect and "login" in response.headers.get("location", ""):
            return True
        # A stale CSRF token: only unsafe methods carry it.
        return response.status_code == 403 and method not in ("GET", "HEAD") \
            and "csrf" in response.text.lower()

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400 and not response.is_redirect:
            return
        body = response.text
        if status == 502 and body.startswith("mywAbort:"):
            raise _abort(body)
        if status == 429:
            raise _Transient("429 Too Many Requests", self._retry_after(response))
        if status in TRANSIENT_STATUSES:
            raise _Transient(f"HTTP {status}")
        if status == 404:
            raise IQGeoNotFound(f"{response.request.url.path}: {body[:200]}")
        if status in (401, 403):
            raise IQGeoAuthError(f"HTTP {status} after logging in again: {body[:200]}")
        raise IQGeoProtocolError(f"unexpected HTTP {status}: {body[:200]}")

    def _retry_after(self, response: httpx.Response) -> float:
        try:
            wait = float(response.headers.get("retry-after", ""))
        except ValueError:
            wait = self.settings.backoff_base
        return max(wait, 0.0)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    # -- features --------------------------------------------------------------------------
    def _params(self, **extra: Any) -> dict[str, Any]:
        return {"application": self.settings.application, **extra}

    def list_page_content(self, feature_type: str, offset: int, limit: int,
                          include_total: bool = False) -> bytes:
        """One page of a layer as IQGeo sent it (JSON), for a reader that decodes it its
        own way."""
        params = self._params(limit=limit, offset=offset)
        if include_total:
            params["include_total"] = "true"
        return self.request("GET", f"/feature/{feature_type}", params=params).content

    def list_page(self, feature_type: str, offset: int, limit: int,
                  include_total: bool = False) -> dict[str, Any]:
        page = loads(self.list_page_content(feature_type, offset, limit, include_total))
        if not isinstance(page, dict) or not isinstance(page.get("features"), list):
            raise IQGeoProtocolError(f"list of {feature_type} has no 'features' array")
        if isinstance(page.get("unlimited_count"), int):
            self.last_total = page["unlimited_count"]
        return page

    def iter_pages(self, feature_type: str, page_size: int | None = None,
                   include_total: bool = False) -> Iterator[list[Feature]]:
        """Every page of a layer. Stops on a short or empty page: IQGeo sets `next_offset`
        even on a last page that is exactly full, so it cannot be trusted to end the scan.
        Always sends a limit: without one IQGeo returns the whole table."""
        limit = page_size or self.settings.page_size
        offset = 0
        self.last_total = None
        while True:
            first = include_total and offset == 0
            features = self.list_page(feature_type, offset, limit, first)["features"]
            if features:
                yield features
            if len(features) < limit:
                return
            offset += limit

    def get_feature(self, feature_type: str, feature_id: int) -> Feature:
        feature: Feature = _json(self.request("GET", f"/feature/{feature_type}/{feature_id}",
                                              params=self._params()))
        return feature

    def get_features(self, feature_type: str, ids: list[int]) -> list[Feature]:
        response = self.request("POST", f"/feature/{feature_type}/get", params=self._params(),
                                data={"ids": ",".join(str(i) for i in ids)})
        features: list[Feature] = _json(response).get("features", [])
        return features

    def update_feature(self, feature_type: str, feature_id: int,
                       properties: dict[str, Any]) -> Feature:
        body = orjson.dumps({"type": "Feature", "properties": properties})
        response = self.request("PUT", f"/feature/{feature_type}/{feature_id}",
                                params=self._params(), content=body)
        feature: Feature = _json(response)
        return feature

    def transaction(self, operations: list[tuple[str, str, Feature]]) -> list[int]:
        """All-or-nothing batch (`POST /feature`); the ids come back in request order."""
        response = self.request("POST", "/feature", params=self._params(),
                                content=orjson.dumps([list(op) for op in operations]))
        ids: list[int] = _json(response).get("ids", [])
        return ids


def _json(response: httpx.Response) -> Any:
    return loads(response.content)


def loads(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as error:
        raise IQGeoProtocolError(f"reply is not JSON: {error}") from None


def _abort(body: str) -> IQGeoAbort:
    try:
        detail = orjson.loads(body.removeprefix("mywAbort:"))
        return IQGeoAbort(str(detail.get("msg", "")), detail.get("params") or {})
    except (orjson.JSONDecodeError, AttributeError):
        return IQGeoAbort(body.removeprefix("mywAbort:").strip())
