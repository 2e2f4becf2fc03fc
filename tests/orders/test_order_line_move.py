"""Moving lines to a customer account (flow 8): from a holding account by its members, and the
end customer's choice for delegated lines. Once, all or nothing."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Event, Invitation, InvitationPurpose, PartnerMembership, SmartAccountStatus
from accounts.services import smart_account_create
from licensing.models import ClassicLicense, Entitlement
from orders import services
from orders.models import OrderLineState
from orders.selectors import line_for_invitation

from ..factories import HoldingMembershipFactory, SmartAccountFactory, UserFactory, VirtualAccountFactory


@pytest.fixture
def held(place, world, smart_product):
    """`held(n)`: n lines of one order, shipped into the Resale holding account."""

    def _held(n=1, product=None, **line):
        order = place([{"product": product or smart_product, "quantity": 5, "smart_account": world.holding, **line}] * n)
        return services.order_ship(order=order, actor=world.staff)

    return _held


def move(lines, world, *, actor=None, **kwargs):
    kwargs.setdefault("smart_account", world.globex)
    return services.order_line_move_to_account(lines=lines, actor=actor or world.rita, **kwargs)


def test_holding_member_moves_held_lines_into_the_chosen_customer_virtual_account(held, world):
    lines = held(2)

    moved = move(lines, world, virtual_account=world.globex_finance)

    assert [line.state for line in moved] == [OrderLineState.PROVISIONED] * 2
    for line in moved:
        line.refresh_from_db()
        assert (line.smart_account, line.virtual_account, line.held_in) == (world.globex, world.globex_finance, world.holding)
        assert line.entitlements.get().virtual_account == world.globex_finance
    assert Entitlement.objects.count() == 2
    # Both accounts' logs tell the move.
    assert Event.objects.filter(smart_account=world.holding, action="order_line.moved").count() == 2
    assert Event.objects.filter(smart_account=world.globex, action="order_line.moved").count() == 2


def test_a_partner_needs_no_role_in_the_customers_account_to_move_into_it(held, world):
    # rita holds no role in Globex; the default VA is where the licenses land.
    line = held(1)[0]

    move([line.pk], world)

    assert Entitlement.objects.get().virtual_account == world.globex.default_virtual_account


def test_moving_a_held_line_twice_deposits_once(held, world):
    line = held(1)[0]
    move([line], world)

    with pytest.raises(ValidationError) as caught:
        move([line], world, smart_account=SmartAccountFactory())

    assert f"Line {line.pk}" in caught.value.messages[0] and "already provisioned in Globex" in caught.value.messages[0]
    assert Entitlement.objects.count() == 1
    line.refresh_from_db()
    assert line.smart_account == world.globex


def test_a_failing_bulk_move_changes_nothing_and_names_the_failing_lines(place, held, world, smart_product):
    good = held(1)[0]
    done = held(1)[0]
    move([done], world)
    booked = place([{"product": smart_product, "quantity": 1, "smart_account": world.holding}]).lines.get()
    entitlements_before = Entitlement.objects.count()

    with pytest.raises(ValidationError) as caught:
        move([good.pk, done.pk, booked.pk, 999999], world)

    assert caught.value.failed_lines == {
        done.pk: "already provisioned in Globex",
        booked.pk: "not shipped yet",
        999999: "no such order line",
    }
    messages = caught.value.message_dict["lines"]
    assert len(messages) == 3 and all(f"Line {pk}" in " ".join(messages) for pk in (done.pk, booked.pk, 999999))
    good.refresh_from_db()
    assert (good.state, good.smart_account) == (OrderLineState.HELD, world.holding)
    assert Entitlement.objects.count() == entitlements_before


def test_moving_needs_holding_membership(held, world):
    line = held(1)[0]

    # A colleague who sees the order but did not join the holding account: forbidden.
    with pytest.raises(PermissionDenied) as caught:
        move([line], world, actor=world.rosa)
    assert "not a member of the holding account Resale Holding" in str(caught.value)
    # Someone who cannot see the line at all learns nothing about it.
    with pytest.raises(ValidationError) as caught:
        move([line], world, actor=world.otto)
    assert caught.value.failed_lines == {line.pk: "no such order line"}
    assert "Resale" not in " ".join(caught.value.messages)

    line.refresh_from_db()
    assert line.state == OrderLineState.HELD and not Entitlement.objects.exists()


def test_a_partner_admin_moves_lines_of_its_partners_holding_accounts(held, world):
    line = held(1)[0]
    PartnerMembership.objects.filter(user=world.rosa).update(is_admin=True)

    move([line], world, actor=world.rosa)

    assert Entitlement.objects.count() == 1


def test_moving_only_into_an_active_customer_account(held, world):
    line = held(1)[0]
    suspended = SmartAccountFactory(status=SmartAccountStatus.SUSPENDED)

    for target in (world.initech, suspended, world.distri_holding, world.holding):
        with pytest.raises(ValidationError) as caught:
            move([line], world, smart_account=target)
        assert list(caught.value.message_dict) == ["smart_account"]

    line.refresh_from_db()
    assert line.state == OrderLineState.HELD and not Entitlement.objects.exists()


def test_the_virtual_account_must_be_in_the_target_account(held, world):
    line = held(1)[0]

    with pytest.raises(ValidationError) as caught:
        move([line], world, virtual_account=VirtualAccountFactory())

    assert list(caught.value.message_dict) == ["virtual_account"]


def test_a_held_classic_line_becomes_a_pak_when_moved(held, world, classic_product):
    line = held(1, product=classic_product)[0]
    assert not ClassicLicense.objects.exists()

    move([line], world)

    assert ClassicLicense.objects.get().smart_account == world.globex
    assert not Entitlement.objects.exists()


def test_a_held_subscription_keeps_its_term_when_moved(held, world, subscription_product):
    line = held(1, product=subscription_product)[0]

    move([line], world)

    entitlement = Entitlement.objects.get()
    assert (entitlement.starts_on, entitlement.ends_on) == (line.starts_on, line.ends_on)


# --- delegated lines: the end customer chooses -------------------------------------------


@pytest.fixture
def contact(world):
    """The end customer's contact, SA admin of their own freshly created account."""
    user = UserFactory(email="it@globex.example")
    account = smart_account_create(name="Globex IT", domain="globex.example", actor=user)
    return user, account


def test_delegated_contact_gets_the_link_and_choosing_an_account_provisions_there(
    place, world, smart_product, contact, mailoutbox, django_capture_on_commit_callbacks
):
    user, account = contact
    with django_capture_on_commit_callbacks(execute=True):
        order = place([{"product": smart_product, "quantity": 6, "delegate_to_end_customer": True}])
    line = order.lines.get()

    [email] = mailoutbox
    assert email.to == ["it@globex.example"] and order.number in email.subject
    link = next(word for word in email.body.split() if "/invite/" in word)
    invitation = Invitation.objects.get(purpose=InvitationPurpose.ASSIGN_ORDER_LINE)
    assert line_for_invitation(invitation) == line

    services.order_line_ship(line=line, actor=world.staff)
    [moved] = services.order_line_move_to_account(lines=[line.pk], smart_account=account, actor=user)

    assert (moved.state, moved.smart_account, moved.delegated) == (OrderLineState.PROVISIONED, account, True)
    assert Entitlement.objects.get().virtual_account == account.default_virtual_account
    assert Event.objects.filter(smart_account=account, action="order_line.assigned").exists()
    invitation.refresh_from_db()
    assert invitation.used_at is not None and link.startswith("http")


def test_delegated_line_chosen_before_shipping_is_assigned_and_provisions_when_shipped(place, world, smart_product, contact):
    user, account = contact
    line = place([{"product": smart_product, "quantity": 6, "delegate_to_end_customer": True}]).lines.get()

    [assigned] = services.order_line_move_to_account(lines=[line], smart_account=account, actor=user)

    assert (assigned.state, assigned.smart_account) == (OrderLineState.BOOKED, account)
    assert not Entitlement.objects.exists()
    assert services.order_line_ship(line=line, actor=world.staff).state == OrderLineState.PROVISIONED
    assert Entitlement.objects.get().virtual_account == account.default_virtual_account


def test_the_delegated_contact_chooses_only_an_account_where_they_may_add_licenses(place, world, smart_product, contact):
    user, _ = contact
    line = place([{"product": smart_product, "quantity": 1, "delegate_to_end_customer": True}]).lines.get()

    with pytest.raises(ValidationError) as caught:
        services.order_line_move_to_account(lines=[line], smart_account=world.globex, actor=user)

    assert list(caught.value.message_dict) == ["smart_account"]
    line.refresh_from_db()
    assert line.smart_account is None


def test_only_the_contact_chooses_a_delegated_lines_account(place, world, smart_product):
    line = place([{"product": smart_product, "quantity": 1, "delegate_to_end_customer": True}]).lines.get()

    # gina administers Globex but neither placed the order nor is its contact: the line is unknown to her.
    with pytest.raises(ValidationError) as caught:
        services.order_line_move_to_account(lines=[line], smart_account=world.globex, actor=world.gina)
    assert caught.value.failed_lines == {line.pk: "no such order line"}
    # rita placed the order and sees it, but the choice is the contact's: forbidden.
    with pytest.raises(PermissionDenied):
        services.order_line_move_to_account(lines=[line], smart_account=world.globex, actor=world.rita)

    line.refresh_from_db()
    assert line.smart_account is None


def test_a_chosen_delegated_line_cannot_be_chosen_again(place, world, smart_product, contact):
    user, account = contact
    line = place([{"product": smart_product, "quantity": 1, "delegate_to_end_customer": True}]).lines.get()
    services.order_line_move_to_account(lines=[line], smart_account=account, actor=user)
    other = smart_account_create(name="Globex Labs", domain="globex.example", actor=user)

    with pytest.raises(ValidationError):
        services.order_line_move_to_account(lines=[line], smart_account=other, actor=user)

    line.refresh_from_db()
    assert line.smart_account == account


def test_holding_membership_is_per_account(held, world):
    line = held(1)[0]
    HoldingMembershipFactory(smart_account=world.other_holding, user=world.rosa)

    with pytest.raises(PermissionDenied):
        move([line], world, actor=world.rosa)
