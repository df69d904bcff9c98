"""The health check's write (`/healthz`)."""

from django.db import transaction
from django.utils import timezone

from ..models import HealthProbe


@transaction.atomic
def health_probe_write() -> HealthProbe:
    """Stamp the one probe row and commit: the commit is what a full disk or a read-only database refuses
    (SQLite keeps a rolled-back write in memory, so only a committed one proves a write can be made durable)."""
    probe, _ = HealthProbe.objects.update_or_create(pk=1, defaults={"at": timezone.now()})
    return probe
