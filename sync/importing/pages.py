"""Reading a layer's pages with several sessions at once, so IQGeo's latency overlaps our work."""

import queue
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from sync.iqgeo import IQGeoClient

Feature = dict[str, object]


def fetch_pages(clients: list[IQGeoClient], feature_type: str, page_size: int,
                include_total: bool = True) -> Iterator[list[Feature]]:
    """Every page of a layer, in offset order, fetched by one thread per client.

    At most two pages per client are in flight, so memory stays bounded. The scan ends at
    the first short or empty page (IQGeo's `next_offset` is set even on an exactly full last
    page); pages requested beyond it are discarded.
    """
    idle: queue.Queue[IQGeoClient] = queue.Queue()
    for client in clients:
        client.last_total = None
        idle.put(client)

    def fetch(offset: int) -> list[Feature]:
        client = idle.get()
        try:
            first = include_total and offset == 0
            page = client.list_page(feature_type, offset, page_size, first)
            features: list[Feature] = page["features"]
            return features
        finally:
            idle.put(client)

    window = 2 * len(clients)
    in_flight: deque[Future[list[Feature]]] = deque()
    pool = ThreadPoolExecutor(len(clients), thread_name_prefix="iqgeo-pages")
    try:
        next_offset = 0
        while True:
            while len(in_flight) < window:
                in_flight.append(pool.submit(fetch, next_offset))
                next_offset += page_size
            features = in_flight.popleft().result()
            if features:
                yield features
            if len(features) < page_size:
                return
    finally:
        for future in in_flight:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def layer_total(clients: list[IQGeoClient]) -> int | None:
    """The layer size IQGeo reported on the first page, if it did."""
    return next((c.last_total for c in clients if c.last_total is not None), None)
