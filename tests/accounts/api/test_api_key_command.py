"""`python manage.py api_key <email> [--name NAME]` prints a new, working key."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_a_key_that_authenticates(user):
    out, _ = run("USER@example.com")
    raw = out.strip().splitlines()[-1]
    assert raw.startswith("slp_")
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["email"] == "user@example.com"


def test_only_the_key_is_on_stdout_and_only_its_hash_is_stored(user):
    out, err = run(user.email, "--name", "CI pipeline")
    assert out.count("\n") == 1
    raw = out.strip()
    key = ApiKey.objects.get(user=user)
    assert key.name == "CI pipeline"
    assert key.key_hash == ApiKey.hash(raw) and raw not in (key.key_hash, key.prefix)
    assert "CI pipeline" in err and raw not in err


def test_each_run_makes_a_new_key(user):
    assert run(user.email)[0] != run(user.email)[0]
    assert ApiKey.objects.filter(user=user).count() == 2


def test_unknown_email_fails_without_a_key(db):
    with pytest.raises(CommandError, match="nobody@example.com"):
        run("nobody@example.com")
    assert not ApiKey.objects.exists()
