"""/api/v1/partners/{id}/members/: its admins and staff invite members, who join by accepting
(/api/v1/partner-invitations/accept/); its members and staff list them."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, InvitationPurpose, Notification, PartnerMembership

from tests.factories import PartnerMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(db):
    return UserFactory(email="newcomer@acme-resellers.example", name="New Comer")


def members_url(partner) -> str:
    return f"/api/v1/partners/{partner.pk}/members/"


def invitations_url(partner) -> str:
    return f"/api/v1/partners/{partner.pk}/invitations/"


def invitation_body(response) -> dict:
    """An invitation answer without what differs from one invitation to the next."""
    return {k: v for k, v in response.json().items() if k not in ("id", "email", "created_at", "expires_at")}


def emailed_token(email: str) -> str:
    row = Notification.objects.filter(kind="partner.invitation", recipient=email).latest("pk")
    return re.search(r"/invite/(?P<token>[^/\s]+)/", row.body_text).group("token")


@pytest.mark.parametrize("caller", ["staff_api", "partner_admin_api"])
def test_a_partner_admin_cannot_add_a_user_without_their_consent(caller, request, partner, newcomer):
    response = request.getfixturevalue(caller).post(members_url(partner), {"email": "NewComer@acme-resellers.example"},
                                                    format="json")

    assert response.status_code == 202
    assert not PartnerMembership.objects.filter(user=newcomer).exists()
    invitation = Invitation.objects.get(purpose=InvitationPurpose.JOIN_PARTNER)
    assert response.json() == {
        "id": invitation.pk, "email": "newcomer@acme-resellers.example", "is_admin": False,
        "invited_by": request.getfixturevalue("staff_user" if caller == "staff_api" else "partner_admin").email,
        "created_at": response.json()["created_at"], "expires_at": response.json()["expires_at"], "status": "pending",
    }
    assert Notification.objects.filter(kind="partner.invitation", recipient="newcomer@acme-resellers.example").exists()


def test_inviting_answers_alike_for_a_stranger_a_user_and_another_partners_member(
    partner_admin_api, partner, other_partner, newcomer
):
    taken = PartnerMembershipFactory(partner=other_partner).user

    answers = [partner_admin_api.post(members_url(partner), {"email": email}, format="json")
               for email in ("nobody@nowhere.example", newcomer.email, taken.email)]

    assert [a.status_code for a in answers] == [202, 202, 202]
    assert len({repr(invitation_body(a)) for a in answers}) == 1
    assert PartnerMembership.objects.get(user=taken).partner == other_partner


def test_partner_admin_invites_another_admin(partner_admin_api, partner, newcomer, api_as):
    response = partner_admin_api.post(members_url(partner), {"email": newcomer.email, "is_admin": True}, format="json")
    assert response.status_code == 202 and response.json()["is_admin"] is True

    accepted = api_as(newcomer, key=True).post("/api/v1/partner-invitations/accept/",
                                                {"token": emailed_token(newcomer.email)}, format="json")

    assert accepted.status_code == 201
    membership = PartnerMembership.objects.get(user=newcomer)
    assert membership.is_admin and membership.partner == partner
    assert accepted.json()["id"] == membership.pk and accepted.json()["is_admin"] is True


def test_partner_invitation_is_single_use_and_expires(partner_admin_api, partner, newcomer, api_as):
    partner_admin_api.post(members_url(partner), {"email": newcomer.email}, format="json")
    token = emailed_token(newcomer.email)
    client = api_as(newcomer, key=True)
    accept = "/api/v1/partner-invitations/accept/"

    assert client.post(accept, {"token": token}, format="json").status_code == 201
    PartnerMembership.objects.filter(user=newcomer).delete()
    again = client.post(accept, {"token": token}, format="json")
    assert again.status_code == 400 and again.json() == {"token": ["This link has already been used."]}

    partner_admin_api.post(members_url(partner), {"email": newcomer.email}, format="json")
    Invitation.objects.filter(used_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
    late = client.post(accept, {"token": emailed_token(newcomer.email)}, format="json")
    assert late.status_code == 400 and late.json() == {"token": ["This link is invalid or has expired."]}
    assert client.post(accept, {"token": "forged"}, format="json").status_code == 400
    assert not PartnerMembership.objects.filter(user=newcomer).exists()


def test_only_the_invitee_accepts_or_declines(partner_admin_api, partner, newcomer, user_api, anon):
    partner_admin_api.post(members_url(partner), {"email": newcomer.email}, format="json")
    token = emailed_token(newcomer.email)

    assert user_api.post("/api/v1/partner-invitations/accept/", {"token": token}, format="json").status_code == 403
    assert user_api.post("/api/v1/partner-invitations/decline/", {"token": token}, format="json").status_code == 403
    assert anon.post("/api/v1/partner-invitations/accept/", {"token": token}, format="json").status_code == 401
    assert PartnerMembership.objects.filter(partner=partner).count() == 1
    assert Invitation.objects.get().used_at is None


def test_invitee_declines_and_joins_nothing(partner_admin_api, partner, newcomer, api_as):
    partner_admin_api.post(members_url(partner), {"email": newcomer.email}, format="json")
    client = api_as(newcomer, key=True)

    response = client.post("/api/v1/partner-invitations/decline/", {"token": emailed_token(newcomer.email)},
                           format="json")

    assert response.status_code == 204
    assert not PartnerMembership.objects.filter(user=newcomer).exists()
    assert partner_admin_api.get(invitations_url(partner)).json()["count"] == 0


def test_a_member_of_another_partner_is_told_to_leave_it_first(partner_admin_api, partner, other_partner, api_as):
    taken = PartnerMembershipFactory(partner=other_partner).user
    partner_admin_api.post(members_url(partner), {"email": taken.email}, format="json")

    response = api_as(taken, key=True).post("/api/v1/partner-invitations/accept/",
                                            {"token": emailed_token(taken.email)}, format="json")

    assert response.status_code == 400
    assert "You already belong to Other Networks" in response.json()["non_field_errors"][0]
    assert PartnerMembership.objects.get(user=taken).partner == other_partner


def test_partner_member_who_is_not_admin_gets_403(partner_member_api, partner, newcomer):
    response = partner_member_api.post(members_url(partner), {"email": newcomer.email}, format="json")
    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert partner_member_api.get(invitations_url(partner)).status_code == 403


def test_admin_of_another_partner_gets_404(partner_admin_api, other_partner, newcomer):
    response = partner_admin_api.post(members_url(other_partner), {"email": newcomer.email}, format="json")
    assert response.status_code == 404
    assert partner_admin_api.get(invitations_url(other_partner)).status_code == 404
    assert not Invitation.objects.exists()


def test_ordinary_user_gets_404(user_api, partner, newcomer):
    assert user_api.post(members_url(partner), {"email": newcomer.email}, format="json").status_code == 404
    assert user_api.get(members_url(partner)).status_code == 404
    assert user_api.get(invitations_url(partner)).status_code == 404
    assert not Invitation.objects.exists()


def test_anonymous_gets_401(anon, partner, newcomer):
    assert anon.post(members_url(partner), {"email": newcomer.email}, format="json").status_code == 401
    assert anon.get(members_url(partner)).status_code == 401
    assert anon.get(invitations_url(partner)).status_code == 401


def test_unknown_partner_is_404(staff_api, newcomer):
    response = staff_api.post("/api/v1/partners/999999/members/", {"email": newcomer.email}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize("body", [{}, {"email": ""}, {"email": "not-an-email"}])
def test_bad_email_is_field_keyed_400_and_invites_nobody(partner_admin_api, partner, body):
    response = partner_admin_api.post(members_url(partner), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    assert not Invitation.objects.exists()


def test_inviting_a_member_of_the_partner_itself_is_a_field_error(partner_admin_api, partner, partner_member):
    response = partner_admin_api.post(members_url(partner), {"email": partner_member.email, "is_admin": True},
                                      format="json")
    assert response.status_code == 400
    assert response.json() == {"email": ["member@acme-resellers.example is already a member of Acme Resellers."]}
    assert not PartnerMembership.objects.get(user=partner_member).is_admin


def test_bad_is_admin_is_field_keyed_400(partner_admin_api, partner, newcomer):
    response = partner_admin_api.post(members_url(partner), {"email": newcomer.email, "is_admin": "perhaps"},
                                      format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["is_admin"]


def test_partner_admins_and_staff_list_and_revoke_pending_invitations(partner_admin_api, staff_api, partner, newcomer):
    partner_admin_api.post(members_url(partner), {"email": newcomer.email}, format="json")
    invitation = Invitation.objects.get()

    for client in (partner_admin_api, staff_api):
        body = client.get(invitations_url(partner)).json()
        assert [(i["id"], i["email"], i["status"]) for i in body["results"]] == [
            (invitation.pk, newcomer.email, "pending")]

    assert partner_admin_api.delete(f"/api/v1/partner-invitations/{invitation.pk}/").status_code == 204
    assert partner_admin_api.get(invitations_url(partner)).json()["count"] == 0
    assert partner_admin_api.delete(f"/api/v1/partner-invitations/{invitation.pk}/").status_code == 404


def test_another_partners_invitations_are_404(partner_admin_api, other_partner):
    theirs = PartnerMembershipFactory(partner=other_partner, is_admin=True).user
    invitation = services.partner_member_invite(partner=other_partner, email="x@example.org", is_admin=False,
                                                actor=theirs)

    assert partner_admin_api.delete(f"/api/v1/partner-invitations/{invitation.pk}/").status_code == 404
    assert Invitation.objects.get(pk=invitation.pk).expires_at > timezone.now()


@pytest.mark.parametrize("caller", ["staff_api", "partner_admin_api", "partner_member_api"])
def test_members_and_staff_list_members(caller, request, partner, partner_admin, partner_member, other_partner):
    PartnerMembershipFactory(partner=other_partner)
    body = request.getfixturevalue(caller).get(members_url(partner)).json()
    assert body["count"] == 2
    assert {(m["email"], m["is_admin"]) for m in body["results"]} == {
        ("admin@acme-resellers.example", True), ("member@acme-resellers.example", False),
    }


def test_members_of_another_partner_are_404(partner_member_api, other_partner):
    assert partner_member_api.get(members_url(other_partner)).status_code == 404


@pytest.mark.parametrize("extra_members", [2, 40])
def test_member_list_takes_the_same_queries_for_few_and_many(staff_api, partner, extra_members,
                                                             django_assert_num_queries):
    PartnerMembershipFactory.create_batch(extra_members, partner=partner)
    # API key lookup (with its user), its last-use update, the partner, the count, the page with users.
    with django_assert_num_queries(5):
        assert staff_api.get(members_url(partner)).json()["count"] == extra_members
