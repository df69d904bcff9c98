"""Create, or bring up to date, the "ledger read-only" group: it may look at signals, trades, entry orders and
their history in the admin, and change nothing. Idempotent; run it after `migrate` (docs/admin.md)."""

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand

from ledger.models import Order, PaperTrade, Signal

GROUP = "ledger read-only"
VIEWABLE = (Signal, PaperTrade, Order, Signal.history.model, PaperTrade.history.model, Order.history.model)


class Command(BaseCommand):
    help = f'Create or update the "{GROUP}" group (view permission only). Add staff users to it in the admin.'

    def handle(self, *args, **options) -> None:
        types = ContentType.objects.get_for_models(*VIEWABLE)
        permissions = Permission.objects.filter(
            content_type__in=types.values(), codename__in=[f"view_{model._meta.model_name}" for model in VIEWABLE]
        )
        group, created = Group.objects.get_or_create(name=GROUP)
        group.permissions.set(permissions)
        names = ", ".join(sorted(permission.codename for permission in group.permissions.all()))
        self.stdout.write(f"{'Created' if created else 'Updated'} group {GROUP!r} with: {names}.")
