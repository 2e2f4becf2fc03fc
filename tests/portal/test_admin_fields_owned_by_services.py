"""No admin form lets staff write a field that only a service may change (issue 21): a state,
a status, a revocation, a use count, a quantity, a role, a hash, a tree position. The walk covers
every registered ModelAdmin (third-party ones too), its add form and its change form, inlines
included, as a staff superuser sees them."""
import pytest
from django.contrib import admin
from django.urls import reverse

from tests import factories as f

from .test_admin import REGISTERED, admin_url, world  # noqa: F401 (world: a fixture)

pytestmark = pytest.mark.django_db

# Field names that, on whichever model they appear, only a service writes: read from the project's
# models (states and statuses, revocations and uses, counts and quantities, roles, where a row sits
# in a tree or an account, secrets' hashes, the times a service stamps).
SERVICE_OWNED = frozenset({
    # states and statuses
    "state", "status", "closed_at", "activated_at", "decided_at", "decided_by", "granted_role",
    "shipped_on", "provisioned_at", "held_in", "registered_at", "converted_at", "converted_to",
    "started_at", "cleared_at", "claimed_at", "sent_at", "attempts", "used_at",
    # revocations and expiries
    "revoked_at", "revoked_reason", "expires_at",
    # uses, counts and quantities
    "use_count", "max_uses", "count", "quantity", "purchased", "in_use", "last_used_at", "last_contact_at",
    # roles (guardian rows) and who granted them
    "permission", "granted_by", "granted_at",
    # where a row sits: its account, its Virtual Account, its place in the tree
    "smart_account", "virtual_account", "parent", "lft", "rght", "tree_id", "level",
    # secrets, kept as hashes
    "key_hash", "token_hash", "secret_hash", "key",
})

# A field of that list the admin may show as an input, because its save hands the value to the
# service named here, which checks it (and records the event); the field is never saved by the form.
SERVICE_INPUTS = {
    ("accounts.supportcase", "status"): "support_case_set_status",
}


@pytest.fixture
def staff_client(client):
    client.force_login(f.UserFactory(email="root@vendor.example", is_staff=True, is_superuser=True))
    return client


def _writable(response) -> set[tuple[str, str]]:
    """(model, field) for every input of the page's form and of its inlines' forms."""
    form = response.context["adminform"].form
    found = {(form._meta.model._meta.label_lower, name) for name in form.fields}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for inline_form in [*formset.forms, formset.empty_form]:
            found |= {(formset.model._meta.label_lower, name) for name in inline_form.fields
                      if name not in ("id", "DELETE", formset.fk.name)}
    return found


def _owned(fields: set[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted((model, name) for model, name in fields if name in SERVICE_OWNED and (model, name) not in SERVICE_INPUTS)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label_lower)
def test_no_admin_form_lets_staff_write_a_field_a_service_owns(staff_client, world, model):  # noqa: F811
    model_admin = admin.site._registry[model]
    opts = model._meta
    pages = []
    add = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    if add.status_code == 200:
        pages.append(("add", add))
    else:
        assert add.status_code == 403
    obj = world.get(model) or model._default_manager.first()
    if obj is not None:
        change = staff_client.get(admin_url(obj, "change"))
        assert change.status_code == 200
        pages.append(("change", change))

    for view, page in pages:
        if "adminform" not in page.context:
            continue
        owned = _owned(_writable(page))
        assert not owned, f"{type(model_admin).__name__} {view} form lets staff write {owned}"


def test_the_list_names_fields_of_the_models():
    # A renamed model field must not leave the list checking nothing.
    from django.apps import apps

    names = {field.name for m in apps.get_models() for field in m._meta.get_fields()}
    assert SERVICE_OWNED <= names, SERVICE_OWNED - names
