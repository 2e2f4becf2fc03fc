"""Production configuration: with a real secret key and hosts from the environment, Django's
deployment checks are clean and the static files (vendored assets included) collect under
WhiteNoise's manifest storage, so pages never need a CDN."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, tmp_path: Path, **overrides: str | None) -> subprocess.CompletedProcess:
    env = {
        key: value for key, value in os.environ.items()
        # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment never has it.
        if key not in {"DEBUG", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="portal.example.com",
        STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        REDIS_URL="redis://127.0.0.1:6379/1",  # named, never connected to by the checks
    )
    env.update(overrides)
    env = {key: value for key, value in env.items() if value is not None}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_environment(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_that_login_rate_limits_are_per_process_without_redis(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, REDIS_URL=None)
    assert result.returncode != 0
    assert "portal.W001" in result.stdout + result.stderr


def test_static_files_collect_under_the_manifest_storage(tmp_path):
    result = _manage("collectstatic", "--no-input", "-v", "0", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "vendor/bootstrap/bootstrap.min.css" in manifest
    assert "vendor/htmx/htmx.min.js" in manifest
