"""/support/: a user's own cases, a thread with support staff, replies and resolving."""
import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Role, SupportCase, SupportCaseStatus
from tests.factories import SmartAccountFactory, SmartAccountRoleFactory, SupportCaseFactory, SupportMessageFactory, UserFactory

from .conftest import field_error, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(user):
    sa = SmartAccountFactory(name="Acme", domain="acme.example")
    SmartAccountRoleFactory(user=user, content_object=sa, role=Role.SA_VIEWER)
    return sa


@pytest.fixture
def case(user):
    case = SupportCaseFactory(user=user, subject="Licenses missing")
    SupportMessageFactory(case=case, body="Ten licenses of SO-100042 are not in DEFAULT.")
    return case


@pytest.fixture
def strangers_case(db):
    return SupportCaseFactory(user=UserFactory(email="stranger@else.example"), subject="Stranger's secret problem")


def test_no_cases_says_how_to_open_one(as_user, user):
    page = html(as_user(user).get(reverse("accounts:support_case_list")))

    assert "No support cases" in page
    assert f'href="{reverse("accounts:support_case_create")}"' in page


def test_list_shows_only_my_cases(as_user, user, case, strangers_case):
    page = html(as_user(user).get(reverse("accounts:support_case_list")))

    assert "Licenses missing" in page
    assert "Stranger" not in page


def test_open_a_case_about_one_of_my_accounts_and_an_order(as_user, user, acme):
    response = as_user(user).post(reverse("accounts:support_case_create"), {
        "subject": "Licenses missing", "smart_account": acme.pk, "order_number": "SO-100042",
        "body": "The order shipped yesterday.",
    }, follow=True)

    case = SupportCase.objects.get(user=user)
    assert (case.smart_account, case.order_number, case.status) == (acme, "SO-100042", SupportCaseStatus.OPEN)
    assert case.messages.get().body == "The order shipped yesterday."
    assert f"Case #{case.pk} is open." in html(response)


def test_only_visible_accounts_are_offered(as_user, user, acme):
    hidden = SmartAccountFactory(name="Hidden Industries")

    client = as_user(user)
    page = html(client.get(reverse("accounts:support_case_create")))
    assert "Acme" in page and "Hidden Industries" not in page

    response = client.post(reverse("accounts:support_case_create"), {"subject": "x", "smart_account": hidden.pk, "body": "y"})
    assert field_error(response, "id_smart_account")
    assert not SupportCase.objects.exists()


def test_missing_subject_and_description_are_shown_next_to_the_fields(as_user, user):
    response = as_user(user).post(reverse("accounts:support_case_create"), {"subject": "", "body": ""})

    assert "This field is required." in field_error(response, "id_subject")
    assert "This field is required." in field_error(response, "id_body")


def test_thread_shows_messages_without_staff_identities(as_user, user, case):
    SupportMessageFactory(case=case, author=UserFactory(email="agent@vendor.example", is_staff=True), from_staff=True,
                          body="We are on it.")

    page = html(as_user(user).get(reverse("accounts:support_case_detail", args=[case.pk])))

    assert "Ten licenses of SO-100042" in page and "We are on it." in page
    assert "Support team" in page
    assert "agent@vendor.example" not in page


def test_another_users_case_is_404(as_user, user, strangers_case):
    client = as_user(user)

    assert client.get(reverse("accounts:support_case_detail", args=[strangers_case.pk])).status_code == 404
    assert client.post(reverse("accounts:support_case_reply", args=[strangers_case.pk]), {"body": "hi"}).status_code == 404
    assert client.post(reverse("accounts:support_case_resolve", args=[strangers_case.pk])).status_code == 404
    assert strangers_case.messages.count() == 0


def test_staff_also_get_404_for_cases_not_theirs(as_user, staff_user, strangers_case):
    """Staff answer in the admin; the portal page shows a user only their own cases."""
    assert as_user(staff_user).get(reverse("accounts:support_case_detail", args=[strangers_case.pk])).status_code == 404


def test_my_reply_is_added_and_emails_nobody(as_user, user, case, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(user).post(reverse("accounts:support_case_reply", args=[case.pk]), {"body": "Any news?"}, follow=True)

    assert list(case.messages.values_list("body", flat=True))[-1] == "Any news?"
    assert "Reply sent to our support team." in html(response)
    assert mailoutbox == []


def test_staff_reply_emails_the_user(user, staff_user, case, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.support_case_reply(case=case, author=staff_user, body="Found them; they are in US now.", from_staff=True)

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["user@example.com"]
    assert "Licenses missing" in mailoutbox[0].subject
    assert "Found them" in mailoutbox[0].body


def test_empty_reply_is_shown_next_to_the_field(as_user, user, case):
    response = as_user(user).post(reverse("accounts:support_case_reply", args=[case.pk]), {"body": ""})

    assert response.status_code == 200
    assert "This field is required." in field_error(response, "id_body")


def test_mark_resolved_then_reply_reopens(as_user, user, case):
    client = as_user(user)

    response = client.post(reverse("accounts:support_case_resolve", args=[case.pk]), follow=True)
    case.refresh_from_db()
    assert case.status == SupportCaseStatus.RESOLVED
    assert f"Case #{case.pk} is resolved." in html(response)
    assert reverse("accounts:support_case_resolve", args=[case.pk]) not in html(response)

    response = client.post(reverse("accounts:support_case_reply", args=[case.pk]), {"body": "It is back."}, follow=True)
    case.refresh_from_db()
    assert case.status == SupportCaseStatus.OPEN
    assert "Reply sent; the case is open again." in html(response)
