"""Property-based fuzzing of the whole API against its own OpenAPI document (schemathesis).

Every operation gets a bounded number of generated requests, valid and invalid, sent in-process
through ASGI with a real access token of a user holding every role. No response may be a 5xx
or carry a stack trace, and every error must have our error body.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from labelhub_app.api import ratelimit
from labelhub_app.api.app import api
from labelhub_app.services import accounts
from tests.api.conftest import bearer
from tests.factories import make_image, make_project, make_user

EXAMPLES_PER_OPERATION = 12

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api)


@pytest.fixture
def auth_headers(session, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ratelimit.token_limiter, "limit", 10**9)
    user = make_user(session, "producer", "consumer", "reviewer")
    accounts.set_admin(session, email=user.email)
    make_image(session, user, labels=("cat",))
    make_project(session, user, "Fuzz")
    return bearer(session, user)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_or_stack_traces(case, auth_headers):  # type: ignore[no-untyped-def]
    response = case.call(headers=auth_headers)
    case.validate_response(response, checks=[not_a_server_error])
    text = response.text
    assert "Traceback" not in text and 'File "' not in text
    if response.status_code >= 400 and case.method.upper() != "HEAD":
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
