"""Keyset paging links: the `next` link carries the last id seen as `after`."""

from typing import Any

from fastapi import Request

GEOJSON = "application/geo+json"


def next_links(request: Request, returned: int, limit: int, last_id: Any,
               media_type: str = GEOJSON) -> list[dict[str, str]]:
    """A `next` link when the page is full (there may be more), else none."""
    if returned < limit or last_id is None:
        return []
    href = str(request.url.include_query_params(after=last_id))
    return [{"rel": "next", "href": href, "type": media_type}]
