"""Unit tests for ``mock_server.app.create_app`` and the shared error rendering of ``mock_server.errors``."""

from __future__ import annotations

import base64
import io
import threading
from datetime import datetime, timedelta

import pytest

from mock_server import create_app, get_state
from mock_server.app import PROVIDERS, MockState
from mock_server.clock import Clock
from mock_server.delivery import Timelines
from mock_server.errors import ControlError, ProviderError
from mock_server.isotime import UTC
from mock_server.settings import SettingsError, defaults
from mock_server.store import MemoryStore, Store

JELOU = {"Authorization": "Basic " + base64.b64encode(b"demo-client-id:demo-client-secret").decode()}

START = "2026-01-05T10:00:00Z"
START_DT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
FROZEN = {"clock": {"start": START, "frozen": True}}


class Wall:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------- factory


def test_create_app_with_no_config():
    app = create_app(None)
    state = get_state(app)
    assert isinstance(state, MockState)
    assert state.settings == defaults()
    assert isinstance(state.clock, Clock) and isinstance(state.store, Store)
    assert isinstance(state.timelines, Timelines)
    assert set(state.backends) == {provider.name for provider in PROVIDERS}
    assert "jelou" in state.backends
    assert app.config["MAX_CONTENT_LENGTH"] == defaults().max_request_bytes
    assert state.clock.frozen is False
    response = app.test_client().get("/_mock/health")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_two_apps_do_not_share_state():
    first, second = create_app(FROZEN), create_app(FROZEN)
    one, two = get_state(first), get_state(second)
    assert one.store is not two.store
    assert one.settings is not two.settings
    assert one.backends["jelou"] is not two.backends["jelou"]
    one.store.put("default", "x", "k", 1)
    assert two.store.get_value("default", "x", "k") is None
    one.clock.advance(timedelta(hours=1))
    assert two.clock.now() == START_DT
    assert one.clock.now() == START_DT + timedelta(hours=1)
    one.settings.jelou.bots[0]["name"] = "Changed"          # tenant entries: one copy per app
    assert two.settings.jelou.bots[0]["name"] == "Demo Bot"


def test_create_app_unknown_setting():
    with pytest.raises(SettingsError) as info:
        create_app({"jelou": {"no_such_key": 1}})
    assert str(info.value).startswith("unknown setting 'jelou.no_such_key' (known here: ")


def test_create_app_bad_clock_start():
    with pytest.raises(SettingsError) as info:
        create_app({"clock": {"start": "tomorrow"}})
    assert str(info.value) == ("clock.start: 'tomorrow' has no time; expected an ISO 8601 date-time "
                               "such as 2025-10-01T12:15:00Z")


def test_clock_start_and_frozen_settings_honoured():
    wall = Wall(1_000_000_000.0)
    app = create_app(FROZEN, time_source=wall)
    clock = get_state(app).clock
    assert clock.frozen is True
    assert clock.now() == START_DT
    wall.now += 3600
    assert clock.now() == START_DT
    response = app.test_client().get("/_mock/clock")
    assert response.json == {"now": "2026-01-05T10:00:00.000Z", "frozen": True}


def test_clock_start_running_with_time_source():
    wall = Wall(1_000_000_000.0)
    app = create_app({"clock": {"start": "2026-01-05T05:00:00-05:00"}}, time_source=wall)
    get_state(app).store.touch("default")         # its first use starts its clock (reading it creates nothing)
    clock = get_state(app).clock
    assert clock.frozen is False
    assert clock.now() == START_DT
    wall.now += 90.5
    assert clock.now() == START_DT + timedelta(seconds=90.5)
    assert app.test_client().get("/_mock/clock").json == {"now": "2026-01-05T10:01:30.500Z", "frozen": False}


def test_time_source_without_start_uses_the_source():
    app = create_app(None, time_source=Wall(1_767_607_200.0))
    assert get_state(app).clock.now() == START_DT


def test_a_ready_store_is_used_and_a_clock_move_wakes_its_waiters():
    store = MemoryStore(clock_start_us=1_767_607_200_000_000, clock_frozen=True, time_source=Wall(0.0))
    app = create_app(None, store=store)
    state = get_state(app)
    assert state.store is store
    assert state.clock.now() == START_DT
    version = store.version("default")
    answered = []
    thread = threading.Thread(target=lambda: answered.append(store.wait("default", version, timeout=5)))
    thread.start()
    assert app.test_client().post("/_mock/clock", json={"advance": "PT1S"}).status_code == 200
    thread.join(timeout=5)
    assert answered and answered[0] > version
    assert state.clock.now() == START_DT + timedelta(seconds=1)


def test_rng_is_seeded_per_parts():
    state = get_state(create_app({"seed": 7}))
    assert state.rng("c1").random() == state.rng("c1").random()
    assert state.rng("c1").random() != state.rng("c2").random()
    other = get_state(create_app({"seed": 8}))
    assert state.rng("c1").random() != other.rng("c1").random()


# --------------------------------------------------------------------------- 404 / 405


@pytest.fixture
def frozen_client():
    return create_app(FROZEN).test_client()


def test_unknown_route_under_v1_in_jelou_envelope(frozen_client):
    response = frozen_client.get("/v1/x")
    assert response.status_code == 404
    assert response.json == {"message": ["Route GET:/v1/x not found"], "status": "failed"}
    assert response.mimetype == "application/json"


def test_unknown_route_under_v1_other_method(frozen_client):
    response = frozen_client.post("/v1/does/not/exist")
    assert response.status_code == 404
    assert response.json == {"message": ["Route POST:/v1/does/not/exist not found"], "status": "failed"}


@pytest.mark.parametrize("path", ["/v1", "/v1/"])
def test_unknown_route_at_the_jelou_root_in_jelou_envelope(frozen_client, path):
    response = frozen_client.get(path)
    assert response.status_code == 404
    assert response.json == {"message": [f"Route GET:{path} not found"], "status": "failed"}


@pytest.mark.parametrize("path", ["/v2", "/v2/", "/v2/nope", "/v2/chat", "/v2/chat/application"])
def test_unknown_route_under_the_indigitall_prefix_in_indigitall_envelope(frozen_client, path):
    response = frozen_client.get(path)
    assert response.status_code == 404
    assert response.json == {"statusCode": 404, "message": f"Route GET:{path} not found", "errorCode": "ROUTE_NOT_FOUND"}


@pytest.mark.parametrize("path", ["/nothing", "/v1x", "/v2x/chat", "/nothing/v1/x", "/_mock/nothing"])
def test_unknown_route_elsewhere_in_control_envelope(frozen_client, path):
    response = frozen_client.get(path)
    assert response.status_code == 404
    assert response.json == {"error": {"status": 404, "message": f"Route GET:{path} not found"}}


@pytest.mark.parametrize("path", ["/v1", "/v1/"])
def test_the_v1_root_is_jelous(frozen_client, path):
    response = frozen_client.get(path)
    assert response.status_code == 404
    assert response.json == {"message": [f"Route GET:{path} not found"], "status": "failed"}


@pytest.mark.parametrize("path", ["/v2", "/v2/", "/v2/nope", "/v2/chat"])
def test_the_indigitall_prefix_is_indigitalls_by_the_longest_prefix(frozen_client, path):
    response = frozen_client.get(path)
    assert response.status_code == 404
    assert response.json["statusCode"] == 404 and f"Route GET:{path} not found" in response.json["message"]


def test_wrong_method_under_v1(frozen_client):
    response = frozen_client.delete("/v1/hsm/file")
    assert response.status_code == 405
    assert response.headers["Allow"] == "OPTIONS, POST"
    assert response.json == {"message": ["Method DELETE not allowed on /v1/hsm/file (allowed: OPTIONS, POST)"],
                             "status": "failed"}


def test_wrong_method_on_control_plane(frozen_client):
    response = frozen_client.post("/_mock/health")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json == {"error": {"status": 405, "message":
                                       "Method POST not allowed on /_mock/health (allowed: GET, HEAD, OPTIONS)"}}


# --------------------------------------------------------------------------- 413


@pytest.fixture
def small_client():
    return create_app({**FROZEN, "max_request_bytes": 1000}).test_client()


TOO_LARGE = "The request body is larger than the mock accepts (setting max_request_bytes)"


def test_body_too_large_jelou_json(small_client):
    response = small_client.post("/v1/hsm/file", data=b'{"fileUrl": "' + b"x" * 2000 + b'"}', headers=JELOU,
                                 content_type="application/json")
    assert response.status_code == 413
    assert response.json == {"message": [TOO_LARGE], "status": "failed"}


def test_body_too_large_jelou_multipart(small_client):
    response = small_client.post("/v1/hsm/file", data={"file": (io.BytesIO(b"x" * 2000), "r.csv")}, headers=JELOU,
                                 content_type="multipart/form-data")
    assert response.status_code == 413
    assert response.json == {"message": [TOO_LARGE], "status": "failed"}


def test_body_too_large_control_plane(small_client):
    response = small_client.post("/_mock/clock", data=b'{"frozen": true}' + b" " * 2000, content_type="application/json")
    assert response.status_code == 413
    assert response.json == {"error": {"status": 413, "message": TOO_LARGE}}


def test_body_under_limit_is_fine(small_client):
    response = small_client.post("/_mock/clock", json={"advance": "PT1H"})
    assert response.status_code == 200
    assert response.json == {"now": "2026-01-05T11:00:00.000Z", "frozen": True}


# --------------------------------------------------------------------------- 500 and provider errors


def boom_app():
    app = create_app(FROZEN)

    @app.get("/v1/boom")
    def boom_v1():
        raise RuntimeError("kaboom")

    @app.get("/elsewhere/boom")
    def boom_elsewhere():
        raise KeyError("missing")

    @app.get("/v1/control-error")
    def control_error():
        raise ControlError("custom", 409)

    @app.get("/v1/teapot")
    def teapot():
        from werkzeug.exceptions import abort
        abort(418)

    return app


def test_unexpected_exception_under_v1_is_500_in_jelou_envelope(caplog):
    response = boom_app().test_client().get("/v1/boom")
    assert response.status_code == 500
    assert response.json == {"message": ["internal error in the mock (RuntimeError); this is a bug, please report it"],
                             "status": "failed"}
    assert "bug" in response.json["message"][0]
    assert any("unexpected error on GET /v1/boom" in record.getMessage() for record in caplog.records)


def test_unexpected_exception_elsewhere_is_500_in_control_envelope(caplog):
    response = boom_app().test_client().get("/elsewhere/boom")
    assert response.status_code == 500
    assert response.json == {"error": {"status": 500, "message":
                                       "internal error in the mock (KeyError); this is a bug, please report it"}}


def test_provider_error_rendered_as_is():
    response = boom_app().test_client().get("/v1/control-error")
    assert response.status_code == 409
    assert response.json == {"error": {"status": 409, "message": "custom"}}


def test_other_http_error_uses_description():
    response = boom_app().test_client().get("/v1/teapot")
    assert response.status_code == 418
    assert response.json == {"message": ["This server is a teapot, not a coffee machine"], "status": "failed"}


def test_provider_error_base_renders_the_control_envelope():
    assert ProviderError("x").body() == {"error": {"status": 400, "message": "x"}}
    assert ProviderError("gone", 410).body() == {"error": {"status": 410, "message": "gone"}}


def test_control_error_response_and_headers():
    class WithHeader(ControlError):
        headers = {"Retry-After": "5"}

    app = create_app(FROZEN)
    with app.test_request_context("/"):
        response = WithHeader("slow down", 429).response()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {"error": {"status": 429, "message": "slow down"}}


def test_http_exception_is_never_handled_as_unexpected(caplog):
    response = create_app(FROZEN).test_client().get("/nothing")
    assert response.status_code == 404
    assert not [record for record in caplog.records if "unexpected error" in record.getMessage()]
