"""The list tables of the pages (django-tables2): one look (templates/tables/portal_table.html),
sorting through `?sort=`, a page size through `?per_page=`, the page's own pagination, and the
CSV download of what a table shows (`?_export=csv`, ExportMixin's trigger)."""
from __future__ import annotations

from functools import cached_property

import django_tables2 as tables
from django.core.paginator import Page, Paginator
from django.db.models import F
from django.http import HttpRequest, StreamingHttpResponse
from django.template import Context, Template
from django.utils.html import format_html
from django_tables2.data import TableQuerysetData
from django_tables2.utils import OrderByTuple

from .csv import csv_response

SORT_PARAM = "sort"
PAGE_PARAM = "page"
PER_PAGE_PARAM = "per_page"
EXPORT_PARAM = "_export"
PAGE_SIZES = (25, 50, 100)
NOT_FILTERS = {SORT_PARAM, PAGE_PARAM, PER_PAGE_PARAM, EXPORT_PARAM}


def hidden_header(text: str) -> str:
    """A column header only screen readers read (a column of check boxes or buttons)."""
    return format_html('<span class="visually-hidden">{}</span>', text)


class CellColumn(tables.TemplateColumn):
    """A column whose cell is a small template, compiled once (TemplateColumn compiles its
    template_code again for every cell). The CSV value is the cell's text unless `value_FOO`
    says otherwise."""

    def __init__(self, template_code: str, **kwargs):
        super().__init__(template_code=template_code, **kwargs)

    @cached_property
    def compiled(self) -> Template:
        return Template(self.template_code)

    def render(self, record, table, value, bound_column, **kwargs):
        parent = getattr(table, "context", None) or Context()
        context = self.get_context_data(record=record, table=table, value=value, bound_column=bound_column, **kwargs)
        with parent.update(context):
            if getattr(table, "request", None) is not None:
                parent["request"] = table.request
            return self.compiled.render(parent)


def clip(expression: str) -> str:
    """The template code of a free-text value (a name, a description) in a table cell: one line,
    cut with an ellipsis past the column's width (portal.css `.cell-clip`), the whole text in
    its title. `expression` is a template variable, e.g. "record.end_customer_name"."""
    return f'<span class="cell-clip" title="{{{{ {expression} }}}}">{{{{ {expression} }}}}</span>'


class TruncatedColumn(CellColumn):
    """A column of one free-text value (`clip`): `TruncatedColumn("record.partner.name", ...)`."""

    def __init__(self, expression: str, **kwargs):
        super().__init__(clip(expression), **kwargs)


class PortalTable(tables.Table):
    """The base of every list table. `caption` names the table for screen readers,
    `pagination_label` its page links."""

    caption = ""
    pagination_label = "Pages"
    export_csv = False  # offer the CSV download below the table
    page_sizes = PAGE_SIZES
    wrapper_class = "card table-responsive"

    class Meta:
        template_name = "tables/portal_table.html"
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by_field = SORT_PARAM
        page_field = PAGE_PARAM
        per_page_field = PER_PAGE_PARAM

    def __init__(self, *args, caption: str | None = None, sorted_by=None, **kwargs):
        super().__init__(*args, **kwargs)
        if caption is not None:
            self.caption = caption
        if sorted_by:
            # Rows already in this order (a part of a list sorted as a whole): the headers say
            # so, and the rows are not sorted again.
            self._order_by = OrderByTuple(sorted_by)


def order_nulls(queryset, field: str, is_descending: bool, *then: str, nulls_first: bool = True):
    """For a table's `order_FOO`: sort by a nullable `field` with its empty values first when
    ascending (last when descending), on every database alike (PostgreSQL and SQLite differ by
    default), then by `then`."""
    empty_first = nulls_first != is_descending
    expression = F(field).desc if is_descending else F(field).asc
    expression = expression(nulls_first=True) if empty_first else expression(nulls_last=True)
    tail = [f"-{name}" if is_descending else name for name in then]
    return queryset.order_by(expression, *tail), True


def page_size(request: HttpRequest, default: int) -> int:
    """The page size asked for, one of PAGE_SIZES (or the page's default); anything else is ignored."""
    try:
        asked = int(request.GET.get(PER_PAGE_PARAM, ""))
    except ValueError:
        return default
    return asked if asked in PAGE_SIZES or asked == default else default


def table_configure(request: HttpRequest, table: PortalTable, *, per_page: int | None = None,
                    keep_first: tuple[str, ...] = ()) -> PortalTable:
    """Sort the table by `?sort=` (unknown or unsortable columns are ignored) and, with
    `per_page`, show the page `?page=` asks for (out of range: the last one, as Paginator.get_page
    does). The paginator counts the rows once, as the pages did before the tables. `keep_first`:
    the fields a sorted queryset stays ordered by first (the groups of a grouped list)."""
    table.request = request
    sort = [value for value in request.GET.getlist(SORT_PARAM) if value]
    if sort:
        table.order_by = sort
    if keep_first and table.order_by and isinstance(table.data, TableQuerysetData):
        queryset = table.data.data
        table.data.data = queryset.order_by(*keep_first, *queryset.query.order_by)
    if per_page:
        table.paginator = Paginator(table.rows, page_size(request, per_page))
        table.page = table.paginator.get_page(request.GET.get(PAGE_PARAM))
    return table


def is_filtered(request: HttpRequest) -> bool:
    """Whether a filter narrows the list (the page, its size, the sort and the export do not)."""
    return any(value for key, value in request.GET.items() if key not in NOT_FILTERS)


def records_page(table: PortalTable) -> Page:
    """The table's current page as a Paginator page of its records (the model objects), for the
    views and the page context; the rows are fetched once, and the table renders the same ones."""
    return Page([row.record for row in table.page.object_list], table.page.number, table.paginator)


def wants_csv(request: HttpRequest) -> bool:
    return request.GET.get(EXPORT_PARAM) == "csv"


def table_csv_response(table: PortalTable, filename: str) -> StreamingHttpResponse:
    """Every row of the (filtered, sorted) table as CSV: the columns it shows, as text, streamed
    through lib.csv (which keeps a spreadsheet from running a cell). Columns marked
    `exclude_from_export` (actions, check boxes) are left out."""
    values = table.as_values()
    header = next(values)
    return csv_response(filename, header, values)
