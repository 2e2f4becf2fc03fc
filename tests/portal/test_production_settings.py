"""What the settings refuse or choose from the environment (DESIGN.md §6 security): no production
start on the public development key; login rate limits shared through Redis and counted per client
behind trusted proxies. Settings are read once per process, so each case imports them afresh in a
subprocess with only the variables it names."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from ..factories import DEFAULT_PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]
DEV_KEY = "django-insecure-dev-only-key-change-me"
SHOW = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'debug': settings.DEBUG, 'key': settings.SECRET_KEY, "
    "'cache': settings.CACHES['default']['BACKEND'], 'proxies': settings.ALLAUTH_TRUSTED_PROXY_COUNT}))"
)


def settings_with(**environ: str) -> subprocess.CompletedProcess:
    env = {
        key: value for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "REDIS_URL", "ALLAUTH_TRUSTED_PROXY_COUNT", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", **environ)
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_portal_refuses_to_start_with_debug_off_and_no_secret_key():
    result = settings_with(DEBUG="0")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY is not set" in result.stderr


def test_the_development_key_applies_only_with_debug_on():
    shown = json.loads(settings_with().stdout)

    assert shown["debug"] is True and shown["key"] == DEV_KEY


def test_a_secret_key_from_the_environment_is_used_and_turns_debug_off():
    shown = json.loads(settings_with(SECRET_KEY="s" * 50).stdout)

    assert shown == shown | {"debug": False, "key": "s" * 50}


def test_login_rate_limits_count_in_redis_when_redis_url_is_set():
    shown = json.loads(settings_with(REDIS_URL="redis://127.0.0.1:6379/1").stdout)

    assert shown["cache"] == "django.core.cache.backends.redis.RedisCache"


def test_the_trusted_proxy_count_comes_from_the_environment():
    assert json.loads(settings_with(ALLAUTH_TRUSTED_PROXY_COUNT="1").stdout)["proxies"] == 1
    assert json.loads(settings_with().stdout)["proxies"] == 0


def _fail_login(client, email: str, *, proxy: str, client_ip: str):
    return client.post(
        reverse("account_login"), {"login": email, "password": "wrong"},
        REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=client_ip,
    )


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_limit_counts_the_client_not_the_proxy(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    UserFactory(email="bob@acme.example")
    for n in range(5):  # five clients, one wrong password each, all through the same proxy
        _fail_login(client, f"guess{n}@acme.example", proxy="10.0.0.1", client_ip=f"198.51.100.{n + 1}")

    fresh_client = client.post(
        reverse("account_login"), {"login": "bob@acme.example", "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert fresh_client.status_code == 302  # the proxy's address was not what got locked out

    client.logout()
    for n in range(5):  # one client sweeping emails is locked out, whatever the proxy says
        _fail_login(client, f"sweep{n}@acme.example", proxy="10.0.0.1", client_ip="192.0.2.66")
    refused = client.post(
        reverse("account_login"), {"login": "bob@acme.example", "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.66",
    )
    assert "Too many failed login attempts" in refused.content.decode()


@pytest.mark.redis
@pytest.mark.django_db
def test_failed_logins_counted_by_one_worker_lock_out_the_next(client, settings):
    """With REDIS_URL the count lives in Redis: a second worker (a new cache connection, as another
    process has) sees the first one's failures."""
    from django.core.cache import caches

    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": f"ratelimit-test-{os.getpid()}-{os.urandom(4).hex()}",
    }}
    UserFactory(email="ada@acme.example")
    for _ in range(5):
        client.post(reverse("account_login"), {"login": "ada@acme.example", "password": "wrong"})
    caches["default"].close()
    del caches["default"]  # the next request opens a connection of its own, like another worker

    refused = client.post(reverse("account_login"), {"login": "ada@acme.example", "password": DEFAULT_PASSWORD})

    assert "Too many failed login attempts" in refused.content.decode()
    caches["default"].clear()
