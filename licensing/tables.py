"""The list tables of the licensing pages (django-tables2, on lib.tables.PortalTable): devices,
registration tokens and classic licenses (PAKs). Cells read what the selectors fetched with the
rows (VA, usage, status annotations), so sorting and rendering add no query per row."""
from __future__ import annotations

from lib.tables import CellColumn, PortalTable, TruncatedColumn, clip, hidden_header, order_nulls

from .models import ClassicLicense, Device, RegistrationToken


class DeviceTable(PortalTable):
    """Over `selectors.devices(...)`; rows carry `can_operate` (set by the view for the page)."""

    choose = CellColumn(
        '{% if record.can_operate %}<input class="form-check-input" type="checkbox" name="device" value="{{ record.pk }}" '
        'form="device-select" id="choose-{{ record.pk }}" aria-label="Choose {{ record.serial_number }}">{% endif %}',
        verbose_name=hidden_header("Choose"), orderable=False, exclude_from_export=True,
    )
    device = CellColumn(
        '<span class="fw-semibold">' + clip("record.serial_number") + '</span><div class="small text-body-secondary">'
        + clip('record.hostname|default:"—"') + '{% if record.product_id %} · {{ record.product_id }}{% endif %}</div>',
        verbose_name="Device", order_by=("serial_number", "pk"),
    )
    hostname = TruncatedColumn("record.hostname", verbose_name="Hostname", visible=False)
    product_id = CellColumn("{{ record.product_id }}", verbose_name="Product ID", visible=False)
    virtual_account = TruncatedColumn("record.virtual_account.name", verbose_name="Virtual Account",
                                      order_by=("virtual_account__name", "serial_number", "pk"), attrs={"td": {"class": "small"}})
    last_contact = CellColumn(
        '{% load humanize %}{% include "licensing/_device_status_badge.html" with device=record %}'
        '<div class="text-body-secondary" title="{{ record.last_contact_at|date:\'Y-m-d H:i\' }}">'
        '{% if record.last_contact_at %}{{ record.last_contact_at|naturaltime }}{% else %}never{% endif %}</div>',
        verbose_name="Last contact", order_by=("last_contact_at", "pk"), attrs={"td": {"class": "small text-nowrap"}},
    )
    usage = CellColumn(
        '{% for u in record.usage.all %}<span class="badge text-bg-light border me-1 fw-normal">{{ u.product.sku }} × {{ u.count }}</span>'
        '{% empty %}<span class="small text-body-secondary">Nothing in use</span>{% endfor %}',
        verbose_name="Usage per product", orderable=False,
    )
    registered_at = CellColumn('{{ record.registered_at|date:"Y-m-d" }}', verbose_name="Registered",
                               order_by=("registered_at", "pk"), attrs={"td": {"class": "small text-nowrap"}})
    actions = CellColumn(
        '{% if record.can_operate %}<a class="btn btn-sm btn-outline-secondary" href="{{ scope.url.device_move }}?device={{ record.pk }}" '
        'aria-label="Move {{ record.serial_number }}">Move</a> '
        '<form method="post" action="{% url \'licensing:device_remove\' record.pk %}" class="d-inline" '
        'data-confirm="Remove device {{ record.serial_number }}? Its license usage is freed; it must register again to use licenses.">'
        '{% csrf_token %}<input type="hidden" name="next" value="{{ request.get_full_path }}">'
        '<button class="btn btn-sm btn-outline-danger" type="submit" aria-label="Remove {{ record.serial_number }}">Remove</button>'
        '</form>{% endif %}',
        verbose_name=hidden_header("Actions"), orderable=False, exclude_from_export=True,
        attrs={"td": {"class": "text-end text-nowrap"}},
    )

    caption = "Devices"
    pagination_label = "Device pages"
    export_csv = True

    class Meta(PortalTable.Meta):
        model = Device
        fields = ()
        attrs = {**PortalTable.Meta.attrs, "id": "device-table"}

    def order_last_contact(self, queryset, is_descending: bool):
        # A device never heard from is the least recent, whatever the database.
        return order_nulls(queryset, "last_contact_at", is_descending, "pk")

    def value_device(self, record: Device) -> str:
        return record.serial_number

    def value_last_contact(self, record: Device) -> str:
        when = record.last_contact_at.isoformat(timespec="seconds") if record.last_contact_at else "never"
        return f"{record.status} ({when})"

    def value_usage(self, record: Device) -> str:
        return "; ".join(f"{u.product.sku} × {u.count}" for u in record.usage.all())


class TokenTable(PortalTable):
    """Over `selectors.tokens(...)` (annotated `current_status`); rows carry `can_revoke`."""

    token = CellColumn(
        '<code>{{ record.prefix }}…</code><div class="small text-body-secondary">'
        + clip('record.description|default:"No description"') + "</div>",
        verbose_name="Token", order_by=("description", "prefix", "pk"),
    )
    virtual_account = TruncatedColumn("record.virtual_account.name", verbose_name="Virtual Account",
                                      order_by=("virtual_account__name", "-created_at", "pk"), attrs={"td": {"class": "small"}})
    created = CellColumn(
        '<span title="{{ record.created_at|date:\'Y-m-d H:i\' }}">{{ record.created_at|date:"Y-m-d" }}</span>'
        '{% if record.created_by %}<div class="text-body-secondary">{{ record.created_by.email }}</div>{% endif %}',
        verbose_name="Created", order_by=("created_at", "pk"), attrs={"td": {"class": "small text-nowrap"}},
    )
    expires = CellColumn(
        '<span title="{{ record.expires_at|date:\'Y-m-d H:i\' }}">{{ record.expires_at|date:"Y-m-d" }}</span>',
        verbose_name="Expires", order_by=("expires_at", "pk"), attrs={"td": {"class": "small text-nowrap"}},
    )
    uses = CellColumn(
        '{{ record.use_count }} / {% if record.max_uses %}{{ record.max_uses }}{% else %}<span title="No limit">∞</span>{% endif %}',
        verbose_name="Uses", order_by=("use_count", "pk"),
        attrs={"th": {"class": "text-end"}, "td": {"class": "text-end text-nowrap"}},
    )
    status = CellColumn('{% include "licensing/_token_status_badge.html" with status=record.current_status %}',
                        verbose_name="Status", order_by=("current_status", "-created_at", "pk"))
    actions = CellColumn(
        '{% if record.can_revoke %}<form method="post" action="{% url \'licensing:token_revoke\' record.pk %}" '
        'data-confirm="Revoke token {{ record.prefix }}…? Devices cannot register with it any more.">{% csrf_token %}'
        '<input type="hidden" name="next" value="{{ request.get_full_path }}">'
        '<button class="btn btn-sm btn-outline-danger" type="submit" aria-label="Revoke token {{ record.prefix }}">Revoke</button>'
        '</form>{% endif %}',
        verbose_name=hidden_header("Actions"), orderable=False, exclude_from_export=True, attrs={"td": {"class": "text-end"}},
    )

    caption = "Registration tokens"
    pagination_label = "Token pages"
    export_csv = True

    class Meta(PortalTable.Meta):
        model = RegistrationToken
        fields = ()
        attrs = {**PortalTable.Meta.attrs, "id": "token-table"}

    def value_token(self, record: RegistrationToken) -> str:
        # The prefix only: the secret itself is never stored, let alone exported.
        return f"{record.prefix}… {record.description}".strip()

    def value_created(self, record: RegistrationToken) -> str:
        by = f" by {record.created_by.email}" if record.created_by_id else ""
        return record.created_at.date().isoformat() + by

    def value_uses(self, record: RegistrationToken) -> str:
        return f"{record.use_count} / {record.max_uses if record.max_uses else 'no limit'}"

    def value_status(self, record: RegistrationToken) -> str:
        return record.current_status


class ClassicLicenseTable(PortalTable):
    """Over `selectors.classic_licenses(...)`. The actions read `can_operate` from the page."""

    pak = CellColumn('<a class="font-monospace" href="{% url \'licensing:classic_license_detail\' record.pk %}">{{ record.pak }}</a>',
                     verbose_name="PAK", order_by=("pak",))
    product = CellColumn(
        '<span class="fw-semibold">{{ record.product.sku }}</span><div class="small text-body-secondary">{{ record.product.name }}</div>',
        verbose_name="Product", order_by=("product__sku", "pk"),
    )
    quantity = CellColumn("{{ record.quantity }}", verbose_name="Quantity", order_by=("quantity", "pk"),
                          attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}})
    origin = TruncatedColumn('record.source_ref|default:"—"', verbose_name="Origin", order_by=("source_ref", "pk"),
                        attrs={"td": {"class": "small"}})
    status = CellColumn(
        '{% include "licensing/_pak_status_badge.html" with pak=record %}'
        '{% if record.registered_at %}<div class="small text-body-secondary">to {{ record.device_serial }}</div>'
        '{% elif record.converted_at %}<div class="small text-body-secondary">'
        'into ' + clip('record.converted_to.name|default:"a Virtual Account"') + "</div>{% endif %}",
        verbose_name="Status", orderable=False,
    )
    actions = CellColumn(
        '{% if can_operate and not record.registered_at and not record.converted_at %}'
        '<a class="btn btn-sm btn-outline-primary" href="{% url \'licensing:classic_license_register\' record.pk %}">Register</a> '
        '{% if record.product.smart_equivalent_id %}<a class="btn btn-sm btn-outline-secondary" '
        'href="{% url \'licensing:classic_license_convert\' record.pk %}">Convert</a>{% endif %}'
        '{% elif record.registered_at %}<a class="btn btn-sm btn-outline-secondary" '
        'href="{% url \'licensing:classic_license_detail\' record.pk %}">License key</a>{% endif %}',
        verbose_name=hidden_header("Actions"), orderable=False, exclude_from_export=True,
        attrs={"td": {"class": "text-end text-nowrap"}},
    )

    caption = "Classic licenses (PAKs)"
    pagination_label = "PAK pages"
    export_csv = True

    class Meta(PortalTable.Meta):
        model = ClassicLicense
        fields = ()
        attrs = {**PortalTable.Meta.attrs, "id": "pak-table"}

    def value_product(self, record: ClassicLicense) -> str:
        return f"{record.product.sku} {record.product.name}"

    def value_status(self, record: ClassicLicense) -> str:
        if record.converted_at:
            return f"converted into {record.converted_to.name if record.converted_to_id else 'a Virtual Account'}"
        if record.registered_at:
            return f"registered to {record.device_serial}"
        return "available"


class LicenseTable(PortalTable):
    """The per-product lines of the license list (`selectors.LicenseLine`, summed in memory):
    sorted in memory, rendered without a query. Its CSV stays the license export's own
    (`license_export`, snake_case columns the API and scripts read), in the table's sort."""

    product = CellColumn(
        '{% load licensing_ui %}<a class="fw-semibold" href="{% scope_url scope.url \'license_detail\' product_pk=record.product.pk %}">'
        '{{ record.sku }}</a><div class="small text-body-secondary">{{ record.product.name }}{% if record.product.term_months %} · '
        '{{ record.product.term_months }}-month subscription{% endif %}</div>',
        verbose_name="Product", order_by=("product__sku",),
    )
    family = CellColumn("{{ record.product.family }}", verbose_name="Family", order_by=("product__family", "product__sku"),
                        attrs={"td": {"class": "small"}})
    purchased = CellColumn("{% load humanize %}{{ record.purchased|intcomma }}", verbose_name="Purchased",
                           order_by=("purchased", "product__sku"), attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}})
    in_use = CellColumn("{% load humanize %}{{ record.in_use|intcomma }}", verbose_name="In use",
                        order_by=("in_use", "product__sku"), attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}})
    available = CellColumn("{% load humanize %}{{ record.available|intcomma }}", verbose_name="Available",
                           order_by=("available", "product__sku"), attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}})
    shortage = CellColumn(
        '{% load humanize %}{% if record.shortage %}<span class="text-danger fw-semibold">{{ record.shortage|intcomma }}</span>'
        '{% else %}<span class="text-body-secondary">0</span>{% endif %}',
        verbose_name="Shortage", order_by=("shortage", "product__sku"), attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}},
    )
    status = CellColumn('{% include "licensing/_license_status_badge.html" with status=record.status %}', verbose_name="Status",
                        order_by=("status", "product__sku"))
    usage = CellColumn('{% include "licensing/_line_usage.html" with line=record compact=True %}', verbose_name="Usage",
                       orderable=False, attrs={"th": {"class": "col-usage"}})

    wrapper_class = "table-responsive"

    class Meta(PortalTable.Meta):
        attrs = {**PortalTable.Meta.attrs, "id": "license-table"}


class AccountComplianceTable(PortalTable):
    """/licensing/: the user's customer accounts; rows carry `compliance`
    (`selectors.accounts_compliance`, worked out by the view for the rows shown). Sorted by name
    only: the compliance columns are worked out for a page, after the sort and the paging."""

    account = CellColumn(
        '<a class="fw-semibold" href="{% url \'licensing:dashboard\' sa_pk=record.pk %}">' + clip("record.name") + "</a>"
        '<div class="small text-body-secondary">' + clip("record.domain") + "</div>",
        verbose_name="Smart Account", order_by=("name", "pk"),
    )
    domain = CellColumn("{{ record.domain }}", verbose_name="Domain", orderable=False, visible=False)  # for the CSV
    compliance = CellColumn(
        '{% with row=record.compliance %}{% include "licensing/_compliance_badge.html" with shortage=row.shortage_skus|length %}'
        '{% if row.shortage_skus %}<div class="small text-danger">{{ row.shortage_skus|slice:":4"|join:", " }}'
        '{% if row.shortage_skus|length > 4 %} …{% endif %}</div>{% endif %}{% endwith %}',
        verbose_name="Compliance", orderable=False,
    )
    silent_devices = CellColumn(
        '{% if record.compliance.silent_devices %}<span class="text-warning-emphasis fw-semibold">{{ record.compliance.silent_devices }}'
        '</span>{% else %}<span class="text-body-secondary">0</span>{% endif %}',
        verbose_name="Silent devices", orderable=False, attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}},
    )
    subscriptions_ending = CellColumn("{{ record.compliance.subscriptions_ending }}", verbose_name="Subscriptions ending in 90 days",
                                      orderable=False, attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}})
    pages = CellColumn(
        '<a class="btn btn-sm btn-outline-primary" href="{% url \'licensing:license_list\' sa_pk=record.pk %}">Licenses</a> '
        '<a class="btn btn-sm btn-outline-secondary" href="{% url \'licensing:device_list\' sa_pk=record.pk %}">Devices</a>',
        verbose_name=hidden_header("Pages"), orderable=False, exclude_from_export=True,
        attrs={"td": {"class": "text-end text-nowrap"}},
    )

    caption = "Your customer accounts and their compliance"
    pagination_label = "Account pages"
    export_csv = True

    class Meta(PortalTable.Meta):
        attrs = {**PortalTable.Meta.attrs, "id": "account-compliance"}

    def value_account(self, record) -> str:
        return record.name

    def value_compliance(self, record) -> str:
        skus = record.compliance.shortage_skus
        return f"{len(skus)} in shortage: {', '.join(skus)}" if skus else "in compliance"

    def value_silent_devices(self, record) -> str:
        return str(record.compliance.silent_devices)

    def value_subscriptions_ending(self, record) -> str:
        return str(record.compliance.subscriptions_ending)
