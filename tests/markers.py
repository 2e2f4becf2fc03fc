"""Skip markers for tests that need a real service, named after what they need.

`@requires_postgres` skips unless DATABASE_URL points at PostgreSQL; `@requires_redis` unless a
Redis broker is configured. `.ci/run` sets both. Marking a test `@pytest.mark.postgres` or
`@pytest.mark.redis` applies the same skip (see conftest); `redis` tests also talk to the real
broker instead of running Celery tasks eagerly.
"""
import os

import pytest

DATABASE_URL = os.environ.get("DATABASE_URL", "")
BROKER_URL = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL", "")

ON_POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql://", "pgsql://"))
ON_REDIS = BROKER_URL.startswith(("redis://", "rediss://"))

requires_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs PostgreSQL: set DATABASE_URL=postgres://… (as .ci/run does)"
)
requires_redis = pytest.mark.skipif(
    not ON_REDIS, reason="needs Redis: set CELERY_BROKER_URL=redis://… (as .ci/run does)"
)
