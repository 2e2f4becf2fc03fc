"""Reading a page in a test: its HTML as text, and the error shown next to a form field."""
from __future__ import annotations

import re


def html(response) -> str:
    return response.content.decode()


def field_error(response, auto_id: str) -> str:
    """The error text shown next to a field (includes/form_field.html), or '' if none."""
    match = re.search(rf'<div class="invalid-feedback d-block" id="{re.escape(auto_id)}_errors">(.*?)</div>\s*</div>', html(response), re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip() if match else ""
