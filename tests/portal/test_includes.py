"""The shared page pieces: usage bars, forms with their errors, pagination, empty states."""
import re

import pytest
from django import forms
from django.core.paginator import Paginator
from django.template import Context, RequestContext, Template

from portal.templatetags.portal_ui import bar_width, indent, usage


def render(source: str, request=None, **context) -> str:
    ctx = Context(context) if request is None else RequestContext(request, context)
    return " ".join(Template(source).render(ctx).split())


@pytest.mark.parametrize(
    "in_use, purchased, percent, available, shortage",
    [(0, 0, 0, 0, 0), (5, 10, 50, 5, 0), (10, 10, 100, 0, 0), (12, 10, 100, 0, 2), (3, 0, 100, 0, 3)],
)
def test_usage_numbers(in_use, purchased, percent, available, shortage):
    u = usage(in_use, purchased)

    assert (u["percent"], u["available"], u["shortage"]) == (percent, available, shortage)


def test_usage_bar_is_green_in_compliance_and_red_with_a_shortage():
    ok = render('{% include "includes/usage_bar.html" with purchased=10 in_use=4 label="SKU-1" %}')
    short = render('{% include "includes/usage_bar.html" with purchased=10 in_use=13 label="SKU-1" %}')

    assert "bg-success" in ok and 'bar-w-40' in ok and "6 available" in ok
    assert "bg-danger" in short and 'bar-w-100' in short and "Shortage: 3" in short
    assert 'aria-valuetext="13 of 10 in use, shortage of 3"' in short


@pytest.mark.parametrize("value, css", [(0, "bar-w-0"), (42, "bar-w-42"), (99.6, "bar-w-100"), (130, "bar-w-100"),
                                        (-5, "bar-w-0"), (None, "bar-w-0")])
def test_a_bar_width_is_a_class_of_a_whole_percentage_from_0_to_100(value, css):
    assert bar_width(value) == css  # a class: the CSP refuses style attributes


@pytest.mark.parametrize("level, css", [(0, "indent-0"), (3, "indent-3"), (20, "indent-20"), (27, "indent-20")])
def test_a_tree_indent_is_a_class_and_levels_deeper_than_twenty_indent_like_twenty(level, css):
    assert indent(level) == css


class TokenForm(forms.Form):
    description = forms.CharField(help_text="Where the devices are.")
    expires_in_days = forms.IntegerField(min_value=1, max_value=365)
    notify = forms.BooleanField(required=False)
    role = forms.ChoiceField(choices=[("a", "Admin"), ("u", "User")], widget=forms.RadioSelect)

    def clean(self):
        raise forms.ValidationError("Tokens cannot be created in a holding account.")


def test_form_shows_each_error_next_to_its_field_and_the_form_errors_on_top():
    form = TokenForm(data={"description": "", "expires_in_days": "400", "role": "a"})
    form.is_valid()

    html = render('{% include "includes/form.html" with form=form %}', form=form)

    assert '<div class="alert alert-danger" role="alert"> <div>Tokens cannot be created in a holding account.</div>' in html
    assert re.search(r'<input[^>]*class="form-control is-invalid"[^>]*aria-describedby="id_description_helptext id_description_errors"', html)
    assert '<div class="invalid-feedback d-block" id="id_description_errors"> <div>This field is required.</div>' in html
    assert '<div class="invalid-feedback d-block" id="id_expires_in_days_errors">' in html
    assert 'class="form-check-input"' in html and "form-check-label" in html
    assert '<div class="form-text" id="id_description_helptext">Where the devices are.</div>' in html


def test_valid_fields_are_not_marked_invalid():
    form = TokenForm(data={"description": "Branch", "expires_in_days": "30", "role": "a"})
    form.is_valid()

    html = render('{% include "includes/form.html" with form=form %}', form=form)

    assert 'id="id_description_errors"' not in html and "is-invalid" not in html.split("alert-danger")[1]


def test_pagination_keeps_the_other_query_parameters(rf):
    page = Paginator(list(range(95)), 20).page(2)

    html = render('{% include "includes/pagination.html" with page_obj=page %}', request=rf.get("/orders/?state=held&page=2"), page=page)

    assert "21–40 of 95" in html
    assert 'href="?state=held&amp;page=3" rel="next"' in html
    assert 'href="?state=held&amp;page=1" rel="prev"' in html


def test_single_page_has_no_pagination(rf):
    page = Paginator([1, 2], 20).page(1)

    assert render('{% include "includes/pagination.html" with page_obj=page %}', request=rf.get("/"), page=page) == ""


def test_empty_state_offers_the_next_step():
    html = render(
        '{% include "includes/empty_state.html" with icon="receipt" title="No orders yet" text="Orders appear here." action_url="/orders/new/" action_label="Place an order" %}'
    )

    assert "bi-receipt" in html and "No orders yet" in html and 'href="/orders/new/">Place an order</a>' in html
