"""Reading a layer page by page, several pages at once, in reader threads.

Each reader fetches a page, parses it and classifies it (`classify_page`), so the importer
only absorbs rows to write. (Reader processes were tried: on 2 cores shared with IQGeo and
PostgreSQL they were slower, the page results costing more to pickle than the GIL saved.)
"""

import queue
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from sync.importing.classify import Mapping, PageResult, classify_page
from sync.importing.features import AddressMapping, CircuitMapping
from sync.importing.hash_index import HashIndex
from sync.importing.wire import decode_page
from sync.iqgeo import IQGeoClient, IQGeoSettings


def _read(client: IQGeoClient, mapping: Mapping, index: HashIndex, feature_type: str,
          offset: int, page_size: int) -> PageResult:
    content = client.list_page_content(feature_type, offset, page_size,
                                       include_total=offset == 0)
    features, total = decode_page(content, feature_type, mapping.wire)
    result = classify_page(features, mapping, index)
    result.total = total
    return result


def _in_order(submit: Callable[[int], Future[PageResult]], page_size: int,
              window: int) -> Iterator[PageResult]:
    """Results in offset order, `window` pages in flight; ends at the first short page
    (IQGeo sets `next_offset` even on an exactly full last page)."""
    in_flight: deque[Future[PageResult]] = deque()
    next_offset = 0
    try:
        while True:
            while len(in_flight) < window:
                in_flight.append(submit(next_offset))
                next_offset += page_size
            result = in_flight.popleft().result()
            yield result
            if result.size < page_size:
                return
    finally:
        for future in in_flight:
            future.cancel()


def mapping_for(kind: str, settings: IQGeoSettings) -> Mapping:
    return AddressMapping(settings) if kind == "address" else CircuitMapping(settings)


def read_layer(settings: IQGeoSettings, clients: list[IQGeoClient], kind: str,
               feature_type: str, index: HashIndex) -> Iterator[PageResult]:
    """Every page of a layer, classified, in offset order, one reader thread per client.

    Up to `settings.read_ahead` pages are read ahead, so reading goes on while the importer
    waits on the database."""
    idle: queue.Queue[IQGeoClient] = queue.Queue()
    for client in clients:
        idle.put(client)
    mapping = mapping_for(kind, settings)

    def fetch(offset: int) -> PageResult:
        client = idle.get()
        try:
            return _read(client, mapping, index, feature_type, offset, settings.page_size)
        finally:
            idle.put(client)

    with ThreadPoolExecutor(len(clients), thread_name_prefix="iqgeo-pages") as pool:
        yield from _in_order(lambda offset: pool.submit(fetch, offset), settings.page_size,
                             window=max(settings.read_ahead, len(clients)))
