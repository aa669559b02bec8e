"""The IQGeo client against the simulator over real HTTP, fault by fault."""

import pickle

import pytest

from fixtures.iqgeo_sim import FaultRule
from sync.iqgeo import (
    IQGeoAbort,
    IQGeoAuthError,
    IQGeoClient,
    IQGeoNotFound,
    IQGeoUnavailable,
)


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(sim, waits):
    with IQGeoClient(sim[1], sleep=waits.append) as client:
        yield client


def all_ids(client, page_size=50):
    return [f["id"] for page in client.iter_pages("address", page_size) for f in page]


def test_paging_reads_every_feature_and_stops_on_an_exactly_full_last_page(make_sim, waits):
    sim, settings = make_sim(addresses=100)
    with IQGeoClient(settings, sleep=waits.append) as client:
        assert all_ids(client, 50) == list(range(1, 101))
    # pages at 0 and 50 are full; the one at 100 is empty and ends the scan
    assert sim.requests["list"] == 3


def test_login_failure_is_an_auth_error(sim):
    settings = sim[1].model_copy(update={"user": "nobody"})
    with IQGeoClient(settings) as client, pytest.raises(IQGeoAuthError):
        client.get_feature("address", 1)


def test_session_expiry_mid_run_logs_in_again(sim, client):
    sim[0].faults.add(FaultRule("session_expired", route="list", after=1))
    assert len(all_ids(client)) == 120
    assert sim[0].logins == 2


def test_stale_csrf_on_a_write_logs_in_again(sim, client):
    sim[0].faults.add(FaultRule("stale_csrf", route="put"))
    feature = client.update_feature("address", 5, {"service_status": "Built"})
    assert feature["properties"]["service_status"] == "Built"
    assert sim[0].logins == 2


@pytest.mark.parametrize("kind", ["502", "503", "504", "500", "reset"])
def test_transient_failures_are_retried_with_backoff(sim, client, waits, kind):
    sim[0].faults.add(FaultRule(kind, route="list", after=1, times=2))
    assert len(all_ids(client)) == 120
    assert len(waits) == 2 and all(0 < w <= sim[1].backoff_cap for w in waits)
    assert client.retries == 2


def test_429_waits_as_long_as_retry_after_says(sim, client, waits):
    sim[0].faults.add(FaultRule("429", route="list", retry_after=7))
    assert len(all_ids(client)) == 120
    assert waits == [7.0]


def test_slow_reply_times_out_and_is_retried(sim, waits):
    settings = sim[1].model_copy(update={"read_timeout": 0.2})
    sim[0].faults.add(FaultRule("slow", route="get", delay=1.0))
    with IQGeoClient(settings, sleep=waits.append) as client:
        assert client.get_feature("address", 3)["id"] == 3
    assert len(waits) == 1


def test_myw_abort_is_permanent_and_never_retried(sim, client, waits):
    sim[0].faults.add(FaultRule("abort", route="put", times=None))
    with pytest.raises(IQGeoAbort) as raised:
        client.update_feature("address", 5, {"service_status": "Built"})
    assert raised.value.msg == "simulated_failure"
    assert sim[0].requests["put"] == 1 and waits == []


def test_validation_abort_carries_iqgeo_message(client):
    with pytest.raises(IQGeoAbort) as raised:
        client.update_feature("address", 5, {"service_status": "Lit"})
    assert raised.value.msg == "bad_enum_value"
    assert raised.value.params["field"] == "service_status"


def test_persistent_outage_gives_up_after_max_attempts(sim, client, waits):
    sim[0].faults.add(FaultRule("503", route="get", times=None))
    with pytest.raises(IQGeoUnavailable):
        client.get_feature("address", 1)
    assert sim[0].requests["get"] == sim[1].max_attempts
    assert len(waits) == sim[1].max_attempts - 1


def test_not_found(sim, client):
    with pytest.raises(IQGeoNotFound):
        client.get_feature("address", 99999)
    sim[0].faults.add(FaultRule("not_found", route="get"))
    with pytest.raises(IQGeoNotFound):
        client.get_feature("address", 1)


def test_server_down_is_unavailable(waits):
    from sync.iqgeo import IQGeoSettings
    from tests.conftest import free_port

    settings = IQGeoSettings(url=f"http://127.0.0.1:{free_port()}", max_attempts=3,
                             backoff_base=0.01, connect_timeout=0.5)
    with IQGeoClient(settings, sleep=waits.append) as client, \
            pytest.raises(IQGeoUnavailable):
        client.get_feature("address", 1)
    assert len(waits) == 2


def test_transaction_and_batch_get(sim, client):
    ids = client.transaction([("update", "address", {"properties": {"id": 2, "name": "x"}})])
    assert ids == [2]
    assert [f["id"] for f in client.get_features("address", [2, 3])] == [2, 3]


@pytest.mark.parametrize("error", [
    IQGeoAbort("simulated_failure", {"feature": 7}),
    IQGeoUnavailable("IQGeo kept answering 503", retry_after=2.5),
])
def test_errors_cross_from_a_reader_process_intact(error):
    """Readers are processes: what they raise is pickled and raised again by the importer."""
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == str(error)
    assert vars(again) == vars(error)
