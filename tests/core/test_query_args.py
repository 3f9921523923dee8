"""Issue 18 item 7: integer query arguments read by one parser (``mock_server.queryargs``).

``"²"`` passed ``str.isdigit()`` and then made ``int()`` raise (500), 5,000 digits passed it and hit
Python's 4,300-digit limit (500), ``"١"`` (Arabic-Indic one) and ``"1_0"`` were read as numbers.
Every integer argument now takes ASCII digits only, within a range, and a bad one is a 4xx in the
envelope of whoever owns the path, naming the argument and its range.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.jelou import JELOU, send_form
from support.indigitall import KEY, PREFIX, contacts, create
from mock_server import create_app
from mock_server.queryargs import HUGE, MAX_SAFE, whole_number

BAD = ["²", "¹", "²²²", "١", "1_0", "9" * 5000, "-1", " 2", "0x10"]
CAMPAIGNS = "/v1/campaigns?botId=demo-bot&startAt=2026-01-01&endAt=2026-02-01"


@pytest.fixture
def records(client):
    """One Jelou campaign and one indigitall task, for the pages that show a record."""
    response = send_form(client)
    assert response.status_code == 200, response.json
    return {"campaign": response.headers["X-Mock-Campaign-Id"], "task": create(client, contacts(3))["taskId"]}


# (path, argument, its range) of every control-plane and UI integer argument
CONTROL = [
    ("/_mock/webhooks/deliveries", "offset", (0, MAX_SAFE)),
    ("/_mock/webhooks/deliveries", "limit", (1, 1000)),
    ("/_mock/messages", "offset", (0, MAX_SAFE)),
    ("/_mock/messages", "limit", (1, 10000)),
    ("/_mock/messages", "wait_for", (0, MAX_SAFE)),
    ("/_mock/requests", "page", (1, MAX_SAFE)),
    ("/_mock/requests", "limit", (1, 10000)),
    ("/_mock/requests", "wait_for", (0, MAX_SAFE)),
    ("/_mock/ui/webhooks", "page", (1, MAX_SAFE)),
    ("/_mock/ui/requests", "page", (1, MAX_SAFE)),
    ("/_mock/ui/jelou/{campaign}", "page", (1, MAX_SAFE)),
    ("/_mock/ui/indigitall/{task}", "page", (1, MAX_SAFE)),
    ("/_mock/ui/api/jelou/{campaign}", "rows", (1, MAX_SAFE)),
    ("/_mock/ui/api/indigitall/{task}", "rows", (1, MAX_SAFE)),
]


def _url(path: str, records: dict, query: str) -> str:
    return path.format(**records) + ("&" if "?" in path else "?") + query


@pytest.mark.parametrize("path, name, bounds", CONTROL, ids=[f"{p}-{n}" for p, n, _ in CONTROL])
@pytest.mark.parametrize("value", BAD, ids=["sup2", "sup1", "sup2x3", "arabic1", "underscore", "5000digits",
                                            "minus1", "space2", "hex"])
def test_a_bad_control_or_ui_integer_is_400_naming_it_and_its_range(client, records, path, name, bounds, value):
    response = client.get(_url(path, records, f"{name}={value}"))
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    message = response.json["error"]["message"]
    assert response.json["error"]["status"] == 400
    assert message.startswith(f"'{name}' must be between {bounds[0]} and {bounds[1]} (a whole number in digits 0-9)")
    assert len(message) < 200                             # a 5,000-digit value is quoted cut short


@pytest.mark.parametrize("path, name, bounds", CONTROL, ids=[f"{p}-{n}" for p, n, _ in CONTROL])
def test_a_valid_control_or_ui_integer_is_read(client, records, path, name, bounds):
    query = f"{name}={'1,2' if name == 'rows' else 1}" + ("&timeout=0" if name == "wait_for" else "")
    response = client.get(_url(path, records, query))
    assert response.status_code == 200
    if name in ("offset", "limit", "page") and response.is_json:
        assert response.json[name] == 1
    if name == "rows":
        assert set(response.json["rows"]) == {"1", "2"}


def test_the_ui_still_shows_the_page_asked_for(client, records):
    html = client.get(f"/_mock/ui/indigitall/{records['task']}?page=1").get_data(as_text=True)
    assert "page 1 of 1" in html


@pytest.mark.parametrize("value", ["²²²", "١٢٣", "5_03", "9" * 5000, "-50", "099", "600"])
def test_a_bad_journal_status_is_400(client, value):
    response = client.get(f"/_mock/requests?status={value}")
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith("'status' must be a status such as 503")


def test_a_journal_status_filter_still_matches(client):
    client.get("/v1/campaigns/nope", headers=JELOU)
    assert [entry["response"]["status"] for entry in client.get("/_mock/requests?status=404").json["requests"]] == [404]


@pytest.mark.parametrize("value", ["١", "1_0", "²", "inf", "nan", "1e400", "-0.5", ".5", "0x1", "9" * 5000])
def test_a_bad_timeout_is_400(client, value):
    for path in ("/_mock/messages?wait_for=1&timeout=", "/_mock/requests?wait_for=1&timeout="):
        response = client.get(path + value)
        assert response.status_code == 400 and "'timeout' must be between 0 and" in response.json["error"]["message"]


def test_a_valid_timeout_is_read(client):
    for value in ("0.05", "1e-05", "0", "1"):
        assert client.get(f"/_mock/messages?wait_for=1&timeout={value}").status_code == 200


# -- the providers: their own envelopes ------------------------------------------------------------
JELOU_LISTS = [CAMPAIGNS, "/v1/external/bots/demo-bot/notifications?x=1"]
J_PAGE, J_LIMIT = (f"Not a valid integer; use digits 0-9, from 1 to {top}." for top in (MAX_SAFE, 50))
I_PAGE, I_LIMIT = (f"querystring/{name} must be integer (digits 0-9, between 1 and {top})"
                   for name, top in (("page", MAX_SAFE), ("limit", 100)))


@pytest.mark.parametrize("path", JELOU_LISTS)
@pytest.mark.parametrize("name, value, expected", [
    ("page", "²", J_PAGE),
    ("page", "١", J_PAGE),
    ("page", "1_0", J_PAGE),
    ("page", "9" * 5000, "Must be less than or equal to 9007199254740991."),
    ("page", "9" * 20, "Must be less than or equal to 9007199254740991."),
    ("page", "0", "Must be greater than or equal to 1."),                      # as before
    ("page", "-1", "Must be greater than or equal to 1."),
    ("limit", "¹", J_LIMIT),
    ("limit", "١٠", J_LIMIT),
    ("limit", "9" * 5000, "Must be greater than or equal to 1 and less than or equal to 50."),
    ("limit", "51", "Must be greater than or equal to 1 and less than or equal to 50."),  # as before
    ("limit", "-1", "Must be greater than or equal to 1 and less than or equal to 50."),
])
def test_jelou_listings_answer_422_naming_the_argument(client, path, name, value, expected):
    response = client.get(f"{path}&{name}={value}", headers=JELOU)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "E0422"
    assert [entry["en"] for entry in response.json["validationError"][name]] == [expected]


def test_jelou_malformed_page_has_a_spanish_message(client):
    entry = client.get(f"{CAMPAIGNS}&page=²", headers=JELOU).json["validationError"]["page"][0]
    assert entry["es"].startswith("No es un número entero válido; use dígitos 0-9")


@pytest.mark.parametrize("path", JELOU_LISTS)
def test_jelou_listings_read_valid_pages(client, path):
    response = client.get(f"{path}&page=2&limit=5", headers=JELOU)
    assert response.status_code == 200
    pagination = response.json["data"]["pagination"] if "data" in response.json else response.json["pagination"]
    assert (pagination["page"], pagination["limit"]) == (2, 5)


@pytest.mark.parametrize("name, value, expected", [
    ("page", "²", I_PAGE),
    ("page", "١", I_PAGE),
    ("page", "1_0", I_PAGE),
    ("page", "9" * 5000, f"querystring/page must be <= {MAX_SAFE}"),
    ("page", "0", "querystring/page must be >= 1"),                             # as before
    ("page", "-1", "querystring/page must be >= 1"),
    ("limit", "¹", I_LIMIT),
    ("limit", "1_0", I_LIMIT),
    ("limit", "9" * 5000, "querystring/limit must be between 1 and 100"),
    ("limit", "101", "querystring/limit must be between 1 and 100"),            # as before
])
def test_indigitall_task_list_answers_400_naming_the_argument(client, name, value, expected):
    response = client.get(f"{PREFIX}/100/task?{name}={value}", headers=KEY)
    assert response.status_code == 400
    assert response.json["errorCode"] == "VALIDATION_ERROR"
    assert response.json["errors"] == [{"field": name, "message": expected}]


def test_indigitall_task_list_reads_valid_pages(client, records):
    response = client.get(f"{PREFIX}/100/task?page=1&limit=1", headers=KEY)
    assert response.status_code == 200 and response.json["count"] == 1 and len(response.json["data"]) == 1


def test_a_20_digit_page_on_a_redis_store_is_422_not_a_store_outage(redis_url):
    """On a3a4240 a page past 2**63 reached Redis, came back as "store unreachable" (503), and the
    journal could not store the answer's number (an exception out of the WSGI app)."""
    app = create_app({"clock": {"start": "2026-01-05T10:00:00Z", "frozen": True}, "store": {"url": redis_url}})
    try:
        client = app.test_client()
        assert send_form(client).status_code == 200
        response = client.get(f"{CAMPAIGNS}&page={'9' * 20}", headers=JELOU)
        assert response.status_code == 422 and "page" in response.json["validationError"]
        top = client.get(f"{CAMPAIGNS}&page={MAX_SAFE}&limit=50", headers=JELOU)
        assert top.status_code == 200 and top.json["data"]["results"] == []
        assert client.get(f"/_mock/requests?page={MAX_SAFE}").status_code == 200
    finally:
        app.extensions["mock"].webhooks.stop()


# -- the parser itself -----------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("0", 0), ("007", 7), ("-12", -12), ("9007199254740991", MAX_SAFE), ("0" * 500 + "5", 5),
    ("9" * 31, HUGE), ("-" + "9" * 5000, -HUGE),
    ("", None), ("-", None), ("+1", None), (" 1", None), ("1 ", None), ("1_0", None), ("²", None), ("١", None),
    ("1.0", None), ("1e3", None), ("0x1", None), ("--1", None), ("1\n", None),
])
def test_whole_number_reads_ascii_digits_only(text, expected):
    assert whole_number(text) == expected


SEEDED = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
LISTINGS = [(path, name) for path, name, _ in CONTROL if name != "wait_for"] + [      # wait_for: a long-poll
    (CAMPAIGNS, "page"), (CAMPAIGNS, "limit"), ("/v1/external/bots/demo-bot/notifications?x=1", "page"),
    (f"{PREFIX}/100/task?x=1", "page"), (f"{PREFIX}/100/task?x=1", "limit"), ("/_mock/requests", "status"),
    ("/_mock/messages", "timeout"),
]
values = (st.text(max_size=30) | st.integers().map(str) | st.sampled_from(["²", "١٢", "9" * 5000, "-0", "1_0"])
          | st.lists(st.integers(min_value=-5, max_value=10**20).map(str), max_size=5).map(",".join))


@SEEDED
@given(where=st.sampled_from(LISTINGS), value=values)
def test_any_query_value_never_answers_5xx(client, records, where, value):
    path, name = where
    text = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    headers = JELOU if path.startswith("/v1") else KEY if path.startswith("/v2") else {}
    response = client.get(_url(path, records, urlencode({name: text})), headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert response.is_json
