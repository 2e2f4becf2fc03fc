"""A request that loses a race in the database (serialization failure, deadlock, lock not available)
changed nothing and will most likely pass when sent again: it is a 409 with `Retry-After`, in the
API's error format or as a page, never a 500 (issue 21, finding 1). Any other database error is
still a server error. The schema documents the 409 on every write."""
from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.urls import reverse
from psycopg import errors as pg

from lib.api import CONFLICT_MESSAGE, RETRY_AFTER_SECONDS

LOST_RACES = [pg.SerializationFailure, pg.DeadlockDetected, pg.LockNotAvailable]  # 40001, 40P01, 55P03


def lost_race(driver_error: type[Exception]) -> OperationalError:
    """What Django raises for the driver's error: its own OperationalError, caused by the driver's."""
    cause = driver_error("could not serialize access / deadlock detected / could not obtain lock")
    error = OperationalError(*cause.args)
    error.__cause__ = cause
    return error


def create_fails_with(error: Exception):
    return mock.patch("accounts.services.smart_account_create", side_effect=error)


@pytest.mark.parametrize("driver_error", LOST_RACES, ids=lambda e: e.sqlstate)
def test_a_lost_race_in_the_api_is_a_409_with_a_retry_hint(user_api, driver_error):
    with create_fails_with(lost_race(driver_error)):
        response = user_api.post("/api/v1/smart-accounts/", {"name": "NewCo", "domain": "example.com"}, format="json")

    assert response.status_code == 409
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": CONFLICT_MESSAGE}


@pytest.mark.parametrize("driver_error", LOST_RACES, ids=lambda e: e.sqlstate)
def test_a_lost_race_on_a_page_is_a_409_page_with_a_retry_hint(logged_in_client, driver_error):
    with create_fails_with(lost_race(driver_error)):
        response = logged_in_client.post(reverse("accounts:smart_account_create"),
                                         {"name": "NewCo", "domain": "example.com"})

    assert response.status_code == 409
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "Someone else was changing the same thing" in response.content.decode()


def test_any_other_database_error_is_still_a_server_error(user_api, logged_in_client):
    broken = lost_race(pg.AdminShutdown)  # 57P01: not a race; sending it again will not help

    with create_fails_with(broken), pytest.raises(OperationalError):
        user_api.post("/api/v1/smart-accounts/", {"name": "NewCo", "domain": "example.com"}, format="json")
    with create_fails_with(broken), pytest.raises(OperationalError):
        logged_in_client.post(reverse("accounts:smart_account_create"), {"name": "NewCo", "domain": "example.com"})


def test_the_schema_documents_the_409_on_every_write_and_only_there(client):
    paths = client.get("/api/v1/schema/", {"format": "json"}).json()["paths"]

    writes = [(path, method, op) for path, ops in paths.items() for method, op in ops.items()
              if method in {"post", "put", "patch", "delete"}]
    assert writes
    for path, method, op in writes:
        conflict = op["responses"].get("409")
        assert conflict and "Retry-After" in conflict["headers"], f"{method.upper()} {path}"
    reads = [op for ops in paths.values() for method, op in ops.items() if method == "get"]
    assert not [op for op in reads if "409" in op["responses"]]
