"""The list tables of the accounts pages (django-tables2, on lib.tables.PortalTable): who holds
which role in a Smart Account, a partner's members, the customer roles a partner manages, the
members of its holding accounts, a user's support cases and API keys. Most rows are lists the
views built in a fixed number of queries; sorting them is in memory."""
from __future__ import annotations

from lib.tables import CellColumn, PortalTable, TruncatedColumn, clip, hidden_header, order_nulls


def _granted() -> CellColumn:
    return CellColumn(
        '{{ record.granted_by.email|default:"system" }} · {{ record.granted_at|date:"Y-m-d" }}',
        verbose_name="Granted by", order_by=("granted_at",), attrs={"td": {"class": "small text-body-secondary"}},
    )


class RoleTable(PortalTable):
    """/sa/<pk>/users/: the account's roles (SA roles, then VA roles); rows carry `partner_name`
    and `scope_label`, set by the view."""

    user = CellColumn(
        '{{ record.user.email }}{% if record.partner_name %} <span class="badge text-bg-info" title="Partner user">'
        'Partner · ' + clip("record.partner_name") + "</span>{% endif %}",
        verbose_name="User", order_by=("user__email",),
    )
    role = CellColumn("{{ record.permission.name }}", verbose_name="Role", order_by=("permission__name", "user__email"))
    scope = TruncatedColumn("record.scope_label", verbose_name="Scope", order_by=("scope_label", "user__email"))
    granted = _granted()
    actions = CellColumn(
        '<form method="post" action="{% url \'accounts:role_revoke\' record.pk %}" '
        'data-confirm="Revoke the role {{ record.permission.name }} ({{ record.scope_label }}) from {{ record.user.email }}? '
        'They lose what it gave them at once.">{% csrf_token %}'
        '<button class="btn btn-sm btn-outline-danger" type="submit" aria-label="Revoke {{ record.permission.name }} '
        'from {{ record.user.email }}">Revoke</button></form>',
        verbose_name=hidden_header("Actions"), orderable=False, exclude_from_export=True, attrs={"td": {"class": "text-end"}},
    )

    caption = "Who holds which role"
    export_csv = True

    class Meta(PortalTable.Meta):
        attrs = {"class": "table align-middle mb-0"}

    def value_user(self, record) -> str:
        return record.user.email + (f" (partner: {record.partner_name})" if record.partner_name else "")

    def value_granted(self, record) -> str:
        return f"{record.granted_by.email if record.granted_by else 'system'} {record.granted_at.date().isoformat()}"


class PartnerCustomerTable(PortalTable):
    """/partner/customers/: `selectors.partner_customer_roles` rows; `openable_ids` (the
    accounts the user may open) comes from the page."""

    account = CellColumn(
        '{% if record.smart_account.pk in openable_ids %}<a href="{% url \'portal:smart_account_detail\' record.smart_account.pk %}">'
        + clip("record.smart_account.name") + "</a>{% else %}" + clip("record.smart_account.name") + "{% endif %}"
        '<div class="small text-body-secondary">' + clip("record.smart_account.domain")
        + '{% if record.smart_account.status != "active" %} · '
        '{% include "accounts/_status_badge.html" with status=record.smart_account.status label=record.smart_account.get_status_display %}'
        '{% endif %}</div>',
        verbose_name="Customer account", order_by=("smart_account__name", "smart_account__pk"),
    )
    user = CellColumn(
        '{{ record.user.email }}{% if record.user.pk == user.pk %} <span class="badge text-bg-light border">you</span>{% endif %}',
        verbose_name="User", order_by=("user__email",),
    )
    role = CellColumn("{{ record.role_label }}", verbose_name="Role", order_by=("role_label", "user__email"))
    scope = CellColumn(
        '{% if record.virtual_account %}<i class="bi bi-diagram-3" aria-hidden="true"></i> ' + clip("record.virtual_account.name")
        + "{% else %}Whole account{% endif %}",
        verbose_name="Scope", order_by=("scope", "user__email"),
    )
    granted = _granted()

    caption = "Customer roles held by the partner's users"
    export_csv = True

    class Meta(PortalTable.Meta):
        attrs = {"class": "table align-middle mb-0"}

    def value_account(self, record) -> str:
        return f"{record.smart_account.name} ({record.smart_account.domain})"

    def value_user(self, record) -> str:
        return record.user.email

    def value_granted(self, record) -> str:
        return f"{record.granted_by.email if record.granted_by else 'system'} {record.granted_at.date().isoformat()}"


class PartnerMemberTable(PortalTable):
    """/partner/: the partner's members; the actions column only for a partner admin."""

    member = CellColumn(
        '{{ record.user.email }}{% if record.user.name %}<div class="small text-body-secondary">' + clip("record.user.name")
        + "</div>{% endif %}"
        '{% if record.user_id == user.pk %} <span class="badge text-bg-light border">you</span>{% endif %}',
        verbose_name="Member", order_by=("user__email",),
    )
    role = CellColumn(
        '{% if record.is_admin %}<span class="badge text-bg-primary">Partner admin</span>{% else %}Member{% endif %}',
        verbose_name="Role", order_by=("is_admin", "user__email"),
    )
    since = CellColumn('{{ record.created_at|date:"Y-m-d" }}', verbose_name="Since", order_by=("created_at",),
                       attrs={"td": {"class": "small text-body-secondary"}})
    actions = CellColumn(
        '<div class="d-inline-flex gap-1">'
        '<form method="post" action="{% url \'accounts:partner_member_set_admin\' record.pk %}">{% csrf_token %}'
        '<input type="hidden" name="is_admin" value="{% if record.is_admin %}0{% else %}1{% endif %}">'
        '<button class="btn btn-sm btn-outline-secondary" type="submit">{% if record.is_admin %}Make member{% else %}Make admin{% endif %}'
        '<span class="visually-hidden"> ({{ record.user.email }})</span></button></form>'
        '<form method="post" action="{% url \'accounts:partner_member_remove\' record.pk %}">{% csrf_token %}'
        '<button class="btn btn-sm btn-outline-danger" type="submit" aria-label="Remove {{ record.user.email }} from {{ partner.name }}">'
        '{% if record.user_id == user.pk %}Leave{% else %}Remove{% endif %}</button></form></div>',
        verbose_name=hidden_header("Actions"), orderable=False, exclude_from_export=True, attrs={"td": {"class": "text-end"}},
    )

    caption = "Members"

    class Meta(PortalTable.Meta):
        attrs = {"class": "table align-middle mb-0"}

    def value_member(self, record) -> str:
        return record.user.email

    def value_role(self, record) -> str:
        return "Partner admin" if record.is_admin else "Member"


class SupportCaseTable(PortalTable):
    """/support/: the user's own cases (`selectors.support_cases_of`, annotated `message_count`)."""

    case = CellColumn(
        '<a href="{% url \'accounts:support_case_detail\' record.pk %}">#{{ record.pk }} ' + clip("record.subject") + "</a>",
        verbose_name="Case", order_by=("pk",),
    )
    about = CellColumn(
        '{% if record.smart_account %}' + clip("record.smart_account.name")
        + '{% endif %}{% if record.smart_account and record.order_number %} · '
        '{% endif %}{% if record.order_number %}Order {{ record.order_number }}{% endif %}'
        '{% if not record.smart_account and not record.order_number %}<span class="text-body-secondary">General</span>{% endif %}',
        verbose_name="About", order_by=("smart_account__name", "order_number", "pk"),
    )
    status = CellColumn('{% include "accounts/_case_status_badge.html" with case=record %}', verbose_name="Status",
                        order_by=("status", "-updated_at", "pk"))
    messages = CellColumn("{{ record.message_count }}", verbose_name="Messages", order_by=("message_count", "pk"),
                          attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}})
    updated = CellColumn("{{ record.updated_at|timesince }} ago", verbose_name="Last update", order_by=("updated_at", "pk"),
                         attrs={"td": {"class": "small text-body-secondary"}})

    caption = "Your support cases"

    def order_about(self, queryset, is_descending: bool):
        # General cases (no account) come first, whatever the database.
        return order_nulls(queryset, "smart_account__name", is_descending, "order_number", "pk")


class ApiKeyTable(PortalTable):
    """/profile/api-keys/: the user's keys; rows carry `state` (active, expired, revoked) and
    `expires_sort`, set by the view. Neither the key nor its first characters are exported: the
    CSV lists name, dates and status only."""

    name = TruncatedColumn("record.name", verbose_name="Name", order_by=("name", "created_at"))
    prefix = CellColumn("<code>{{ record.prefix }}…</code>", verbose_name="Key starts with", orderable=False,
                        exclude_from_export=True)
    created = CellColumn('{{ record.created_at|date:"Y-m-d H:i" }}', verbose_name="Created", order_by=("created_at",),
                         attrs={"td": {"class": "small"}})
    last_used = CellColumn(
        '{% if record.last_used_at %}{{ record.last_used_at|timesince }} ago'
        '{% else %}<span class="text-body-secondary">Never</span>{% endif %}',
        verbose_name="Last used", order_by=("last_used_at", "created_at"), attrs={"td": {"class": "small"}},
    )
    expires = CellColumn(
        '{% if record.expires_at %}{{ record.expires_at|date:"Y-m-d H:i" }}'
        '{% else %}<span class="text-body-secondary">Never</span>{% endif %}',
        verbose_name="Expires", order_by=("expires_sort", "created_at"), attrs={"td": {"class": "small"}},
    )
    status = CellColumn(
        '{% if record.state == "revoked" %}<span class="badge text-bg-secondary">Revoked {{ record.revoked_at|date:"Y-m-d" }}</span>'
        '{% if record.revoked_reason %}<div class="small text-body-secondary">' + clip("record.revoked_reason")
        + "</div>{% endif %}"
        '{% elif record.state == "expired" %}<span class="badge text-bg-secondary">Expired</span>'
        '{% else %}<span class="badge text-bg-success">Active</span>{% endif %}',
        verbose_name="Status", order_by=("state", "created_at"),
    )
    actions = CellColumn(
        '{% if record.state == "active" %}<form method="post" action="{% url \'accounts:api_key_revoke\' record.pk %}">{% csrf_token %}'
        '<button class="btn btn-sm btn-outline-danger" type="submit" aria-label="Revoke API key {{ record.name }}">Revoke</button>'
        '</form>{% endif %}',
        verbose_name=hidden_header("Actions"), orderable=False, exclude_from_export=True, attrs={"td": {"class": "text-end"}},
    )

    caption = "Your API keys"
    export_csv = True

    class Meta(PortalTable.Meta):
        attrs = {"class": "table align-middle mb-0", "id": "api-key-table"}

    def value_created(self, record) -> str:
        return record.created_at.isoformat(timespec="minutes")

    def value_last_used(self, record) -> str:
        return record.last_used_at.isoformat(timespec="minutes") if record.last_used_at else "never"

    def value_expires(self, record) -> str:
        return record.expires_at.isoformat(timespec="minutes") if record.expires_at else "never"

    def value_status(self, record) -> str:
        if record.state == "revoked":
            return f"revoked {record.revoked_at.date().isoformat()}" + (f" ({record.revoked_reason})" if record.revoked_reason else "")
        return record.state


class HoldingMemberTable(PortalTable):
    """/partner/holding-accounts/: the members of a holding account, one table per account on
    the page, sorted as a whole (in memory); the CSV lists every account's members. The actions
    column only for a partner admin."""

    member = CellColumn(
        '{{ record.user.email }}{% if record.user_id == user.pk %} <span class="badge text-bg-light border">you</span>{% endif %}',
        verbose_name="Member", order_by=("user__email",),
    )
    holding_account = TruncatedColumn("record.smart_account.name", verbose_name="Holding account", visible=False,
                                      orderable=False)
    notify = CellColumn(
        '{% if record.notify %}<i class="bi bi-bell-fill text-success" aria-hidden="true"></i> Yes'
        '{% else %}<i class="bi bi-bell-slash text-body-secondary" aria-hidden="true"></i> No{% endif %}',
        verbose_name="Order emails", order_by=("notify", "user__email"),
    )
    joined = CellColumn('{{ record.created_at|date:"Y-m-d" }}', verbose_name="Joined", order_by=("created_at", "user__email"),
                        attrs={"td": {"class": "small text-body-secondary"}})
    actions = CellColumn(
        '{% if record.user_id != user.pk %}<form method="post" action="{% url \'accounts:holding_member_remove\' record.pk %}">'
        '{% csrf_token %}<button class="btn btn-sm btn-outline-danger" type="submit" '
        'aria-label="Remove {{ record.user.email }} from {{ record.smart_account.name }}">Remove</button></form>{% endif %}',
        verbose_name=hidden_header("Actions"), orderable=False, exclude_from_export=True, attrs={"td": {"class": "text-end"}},
    )

    wrapper_class = "table-responsive"

    class Meta(PortalTable.Meta):
        attrs = {"class": "table table-sm align-middle mb-0"}

    def value_member(self, record) -> str:
        return record.user.email

    def value_notify(self, record) -> str:
        return "yes" if record.notify else "no"

    def value_joined(self, record) -> str:
        return record.created_at.date().isoformat()


class SmartAccountTable(PortalTable):
    """/sa/: the Smart Accounts the user sees (`permissions.visible`, partner selected)."""

    name = CellColumn('<a href="{% url \'portal:smart_account_detail\' record.pk %}">' + clip("record.name") + "</a>",
                      verbose_name="Name", order_by=("name", "pk"))
    kind = CellColumn(
        '{% if record.is_holding %}<span class="badge text-bg-secondary">Holding · ' + clip("record.partner.name") + "</span>"
        '{% else %}Customer{% endif %}',
        verbose_name="Kind", order_by=("kind", "name", "pk"),
    )
    domain = TruncatedColumn('record.domain|default:"—"', verbose_name="Domain", order_by=("domain", "name", "pk"))
    status = CellColumn('{% include "accounts/_status_badge.html" with status=record.status label=record.get_status_display %}',
                        verbose_name="Status", order_by=("status", "name", "pk"))

    caption = "Your accounts"
    export_csv = True

    class Meta(PortalTable.Meta):
        attrs = {**PortalTable.Meta.attrs, "id": "smart-account-table"}

    def value_kind(self, record) -> str:
        return f"Holding ({record.partner.name})" if record.is_holding else "Customer"

    def value_domain(self, record) -> str:
        return record.domain

    def value_status(self, record) -> str:
        return record.status
