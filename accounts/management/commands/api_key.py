"""`python manage.py api_key <email> [--name NAME]`: create an API key for a user and print it.

The raw key is the last line of stdout (scripts can take it with `| tail -n 1`); it is shown
only this once, the database keeps its hash."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = "Create an API key for the user with this email address and print it (shown once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email", help="The email address of an active user.")
        parser.add_argument("--name", default="Command line", help="What the key is for (default: %(default)s).")

    def handle(self, *args, email: str, name: str, **options) -> None:
        user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
        if user is None:
            raise CommandError(f"No active user has the email address {email}.")
        try:
            key, raw = services.api_key_create(user=user, name=name)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stderr.write(f"API key {key.name!r} ({key.prefix}…) for {user.email}; it is shown only once:")
        self.stdout.write(raw)
