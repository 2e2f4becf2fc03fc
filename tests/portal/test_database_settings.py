"""How the portal connects to its database (portal/settings.py)."""
import pytest
from django.db import connection

from tests.markers import requires_postgres

pytestmark = pytest.mark.django_db


@requires_postgres
def test_postgresql_connections_run_without_jit():
    # JIT compiled the plan of a partner's order count for 140 ms to run it in 10 (bench/run/).
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
