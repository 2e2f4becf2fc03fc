"""Who is told about a Smart Account is decided once (accounts.selectors.sa_admin_emails): its
active SA admins, each once, sorted — for access requests, order lines and licensing alerts alike."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accounts.selectors import sa_admin_emails
from tests.factories import SmartAccountFactory, SmartAccountRoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_active_sa_admins_each_once_sorted_in_one_query():
    acme, globex = SmartAccountFactory(), SmartAccountFactory()
    both = UserFactory(email="zed@acme.example")
    SmartAccountRoleFactory(content_object=acme, user=both)
    SmartAccountRoleFactory(content_object=globex, user=both)
    SmartAccountRoleFactory(content_object=acme, user=UserFactory(email="amy@acme.example"))
    SmartAccountRoleFactory(content_object=acme, user=UserFactory(email="sam@acme.example"), role=Role.SA_USER)
    SmartAccountRoleFactory(content_object=acme, user=UserFactory(email="gone@acme.example", is_active=False))
    SmartAccountRoleFactory(content_object=globex, user=UserFactory(email="gil@globex.example"))

    with CaptureQueriesContext(connection) as queries:
        assert sa_admin_emails(acme) == ["amy@acme.example", "zed@acme.example"]
    assert len(queries) == 1
    assert sa_admin_emails([acme, globex]) == ["amy@acme.example", "gil@globex.example", "zed@acme.example"]
    assert sa_admin_emails([]) == []


def test_the_services_ask_the_selector(monkeypatch):
    """The access-request, order and alert recipients all come from the one selector."""
    import accounts.services.access_requests as access_requests
    import licensing.services.alerts as alerts
    import orders.services._common as common

    for module in (access_requests, alerts, common):
        assert module.sa_admin_emails is sa_admin_emails, module.__name__
    sa = SmartAccountFactory()
    monkeypatch.setattr(alerts, "sa_admin_emails", lambda account: ["asked@acme.example"])
    monkeypatch.setattr(common, "sa_admin_emails", lambda account: ["asked@acme.example"])
    assert alerts._admin_emails(sa) == ["asked@acme.example"]
    assert common._sa_admin_emails(sa) == ["asked@acme.example"]
