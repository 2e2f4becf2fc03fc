"""allauth, told where the portal lives: every link it emails starts with SITE_URL.

Built from the request instead, a link follows the `Host` header, whose port (and, behind a
lax proxy, name) the sender of the request chooses: a reset key mailed to an attacker's port."""
import re
from urllib.parse import quote

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.urls import reverse

ABSOLUTE_URL = re.compile(r"^https?://[^/?#]+(?P<rest>[/?#].*)?$", re.S)


def site_url(path: str) -> str:
    """The public address of a path of the portal."""
    return settings.SITE_URL + path


def _on_site(value):
    """An absolute URL made from the request, moved onto SITE_URL; anything else as it was."""
    if isinstance(value, str) and (match := ABSOLUTE_URL.match(value)):
        return site_url(match["rest"] or "/")
    return value


class AccountAdapter(DefaultAccountAdapter):
    def set_password(self, user, password: str) -> None:
        # The credentials email says why keys ended: a reset (from an emailed key) or a change.
        match = getattr(self.request, "resolver_match", None)
        if match is not None and match.url_name == "account_reset_password_from_key":
            user.new_password_because = "password_reset"
        super().set_password(user, password)

    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return site_url(path.replace("UID-KEY", quote(key)))

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return site_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # The links of every other allauth email (sign-up, "no account" replies, …).
        super().send_mail(template_prefix, email, {key: _on_site(value) for key, value in context.items()})
