"""The demo login that `make run` creates and prints, so a newcomer can sign in at once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-trader"  # noqa: S105 - a local demo only; `make run` serves loopback with DEBUG on


class Command(BaseCommand):
    help = "Create (or reset) the demo login and print it."

    def handle(self, *args, **options) -> None:
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.set_password(DEMO_PASSWORD)
        user.is_staff = user.is_superuser = True  # the demo may also try the admin
        user.save()
        self.stdout.write(f"Demo login: user {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}")
