"""Calendar arithmetic shared by orders (subscription terms) and licensing (alerts, snapshots)."""
import calendar
import datetime


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` plus whole months; the 31st becomes the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def months_elapsed(start: datetime.date, today: datetime.date) -> int:
    """Whole months from `start` to `today` (the 31st counts a short month as whole)."""
    months = (today.year - start.year) * 12 + today.month - start.month
    if months > 0 and add_months(start, months) > today:
        months -= 1
    return max(months, 0)
