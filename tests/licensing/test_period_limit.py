"""Reconciliation and usage history cover at most ten years: a longer period is refused with
the error on `start`, on the page and in the API alike (both call the selector)."""
import datetime

import pytest
from django.core.exceptions import ValidationError

from licensing import selectors

START = datetime.date(2015, 1, 1)


def test_a_period_of_up_to_ten_years_is_accepted():
    selectors.check_period(START, START + datetime.timedelta(days=selectors.PERIOD_MAX_DAYS))


def test_a_period_longer_than_ten_years_is_refused_on_start():
    with pytest.raises(ValidationError) as exc:
        selectors.check_period(START, START + datetime.timedelta(days=selectors.PERIOD_MAX_DAYS + 1))
    assert exc.value.message_dict == {"start": ["A period is at most ten years."]}
