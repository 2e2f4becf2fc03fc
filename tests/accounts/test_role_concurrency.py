"""Role grants and revokes at the same moment, through the API, on a real PostgreSQL (SQLite
serialises every write, so the question does not arise there): one consistent state at the
end, an Event for each change that happened and none for a no-op, and the account keeps an
SA admin whatever its admins do to each other at once."""
from __future__ import annotations

import itertools

import pytest
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import get_user_perms
from rest_framework.test import APIClient

from accounts.models import Event, Role, SmartAccountRole, User, VirtualAccountRole
from accounts.permissions import ADMINISTER, can, roles_of
from tests.factories import UserFactory

from ..concurrency import run_at_once
from ..markers import requires_postgres
from .conftest import give_role

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def client_for(user_id: int) -> APIClient:
    client = APIClient()
    client.force_login(User.objects.get(pk=user_id))
    return client


def grant(actor_id: int, sa_id: int, email: str, role: str, va_id: int | None = None):
    def job() -> int:
        body = {"user_email": email, "role": role, **({"virtual_account": va_id} if va_id else {})}
        return client_for(actor_id).post(f"/api/v1/smart-accounts/{sa_id}/roles/", body, format="json").status_code
    return job


def revoke_current(actor_id: int, model, user_id: int, target_id: int):
    """What an admin does on the roles page: find the user's role there, press revoke."""
    def job() -> int | None:
        client = client_for(actor_id)
        row = model.objects.filter(user_id=user_id, content_object_id=target_id).first()
        if row is None:
            return None  # nothing to revoke any more
        return client.delete(f"/api/v1/roles/{row.pk}/").status_code
    return job


def revoke_row(actor_id: int, row_id):
    def job() -> int:
        response = client_for(actor_id).delete(f"/api/v1/roles/{row_id}/")
        return response.status_code
    return job


def replay(events: list[Event], start: dict[str, str]) -> dict[str, str]:
    """Apply the role events, in the order they were written, to `start` ({email: role}),
    checking that each one records a real change of the state it found."""
    state = dict(start)
    for event in events:
        user, role = event.detail["user"], event.detail["role"]
        if event.action == "role.granted":
            assert state.get(user) != role, f"event #{event.pk} grants {role} to {user}, who held it already"
            assert event.detail.get("replaced", []) == ([state[user]] if user in state else []), event.detail
            state[user] = role
        else:
            assert state.get(user) == role, f"event #{event.pk} revokes {role} from {user}, who held {state.get(user)}"
            del state[user]
    return state


def test_32_grants_and_revokes_of_one_users_va_role_at_once_leave_one_consistent_state(acme, acme_admin):
    vic = UserFactory(email="vic@acme.example")
    finance = acme.finance
    jobs = []
    for n in range(32):
        if n % 2:
            jobs.append(revoke_current(acme_admin.pk, VirtualAccountRole, vic.pk, finance.pk))
        else:  # two different roles fought over: at most one may stand
            role = Role.VA_USER if n % 4 else Role.VA_VIEWER
            jobs.append(grant(acme_admin.pk, acme.sa.pk, vic.email, role, finance.pk))

    outcomes = run_at_once(*jobs)

    # Every request answered as the API promises: never a 500, an IntegrityError or a deadlock.
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert {o for o in outcomes[0::2]} <= {201}, outcomes
    assert {o for o in outcomes[1::2]} <= {204, 404, None}, outcomes

    rows = list(VirtualAccountRole.objects.filter(user=vic, content_object=finance).select_related("permission"))
    assert len(rows) <= 1, rows
    held = {row.permission.codename for row in rows}
    # guardian's own view of the object permissions, and the portal's, agree with the rows.
    assert set(get_user_perms(vic, finance)) == held
    assert set(ObjectPermissionChecker(vic).get_perms(finance)) == held
    assert roles_of(vic, acme.sa) == [(role, finance) for role in held]

    events = list(Event.objects.filter(action__startswith="role.", detail__user=vic.email).order_by("id"))
    assert replay(events, {}) == ({vic.email: rows[0].permission.codename} if rows else {})
    assert events and events[0].action == "role.granted"


def test_32_grants_of_one_sa_role_at_once_make_one_row_and_one_event(acme, acme_admin):
    vic = UserFactory(email="vic@acme.example")

    outcomes = run_at_once(*(grant(acme_admin.pk, acme.sa.pk, vic.email, Role.SA_USER) for _ in range(32)))

    assert outcomes == [201] * 32
    assert list(SmartAccountRole.objects.filter(user=vic).values_list("permission__codename", flat=True)) == [Role.SA_USER]
    assert Event.objects.filter(action="role.granted", detail__user=vic.email).count() == 1
    assert set(get_user_perms(vic, acme.sa)) == {Role.SA_USER}


def test_two_sa_admins_revoking_each_other_at_once_leave_one_admin(acme, acme_admin):
    bob = UserFactory(email="bob@acme.example")
    give_role(bob, Role.SA_ADMIN, acme.sa)
    ada_row = SmartAccountRole.objects.get(user=acme_admin)
    bob_row = SmartAccountRole.objects.get(user=bob)

    outcomes = run_at_once(revoke_row(acme_admin.pk, bob_row.pk), revoke_row(bob.pk, ada_row.pk))

    # The loser is refused: by the last-admin rule, or as no longer an admin (403), or no longer
    # even able to see the account (404) — never both revoked.
    assert sorted(outcomes) in ([204, 400], [204, 403], [204, 404]), outcomes
    admins = list(SmartAccountRole.objects.filter(content_object=acme.sa, permission__codename=Role.SA_ADMIN))
    assert len(admins) == 1
    [survivor] = [user for user in (acme_admin, bob) if can(user, ADMINISTER, acme.sa)]
    assert admins[0].user == survivor
    [event] = Event.objects.filter(action="role.revoked")
    assert event.actor == survivor and event.detail["user"] != survivor.email


def test_four_sa_admins_revoking_and_demoting_each_other_at_once_keep_an_admin_and_act_only_as_admins(acme, acme_admin):
    admins = [acme_admin] + [UserFactory(email=f"{name}@acme.example") for name in ("bob", "cy", "dee")]
    for user in admins[1:]:
        give_role(user, Role.SA_ADMIN, acme.sa)
    rows = {row.user_id: row.pk for row in SmartAccountRole.objects.filter(content_object=acme.sa)}
    jobs = []
    for actor, other in itertools.permutations(admins, 2):  # 12 pairs: revoke or demote each other
        if (actor.pk + other.pk) % 2:
            jobs.append(revoke_row(actor.pk, rows[other.pk]))
        else:
            jobs.append(grant(actor.pk, acme.sa.pk, other.email, Role.SA_VIEWER))

    outcomes = run_at_once(*jobs)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert set(outcomes) <= {201, 204, 400, 403, 404}, outcomes
    remaining = set(SmartAccountRole.objects.filter(content_object=acme.sa, permission__codename=Role.SA_ADMIN)
                    .values_list("user__email", flat=True))
    assert remaining, "the account lost its last SA admin"
    # Replayed in the order they were written, the events only ever show an admin acting, and
    # end in the state the rows hold.
    events = list(Event.objects.filter(action__startswith="role.").select_related("actor").order_by("id"))
    state = {user.email: Role.SA_ADMIN for user in admins}
    for event in events:
        assert state.get(event.actor.email) == Role.SA_ADMIN, f"{event.actor.email} acted after losing admin: {event.detail}"
        state = replay([event], state)
        assert Role.SA_ADMIN in state.values()
    assert {email for email, role in state.items() if role == Role.SA_ADMIN} == remaining
    assert len([e for e in events if e.detail["role"] == Role.SA_ADMIN or "sa_admin" in e.detail.get("replaced", [])]) \
        == len(admins) - len(remaining)


def test_two_sa_admins_closing_their_users_at_once_leave_one_admin(acme, acme_admin):
    from django.core.exceptions import ValidationError

    from accounts import services

    bob = UserFactory(email="bob@acme.example")
    give_role(bob, Role.SA_ADMIN, acme.sa)

    def close(user_id):
        def job():
            user = User.objects.get(pk=user_id)
            return services.user_close(user=user, actor=user, confirm_email=user.email)
        return job

    outcomes = run_at_once(close(acme_admin.pk), close(bob.pk))

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], ValidationError), outcomes
    assert "You are the only admin of Acme" in str(refused[0])
    assert SmartAccountRole.objects.filter(content_object=acme.sa, permission__codename=Role.SA_ADMIN).count() == 1
    assert User.objects.filter(is_active=True, pk__in=[acme_admin.pk, bob.pk]).count() == 1
