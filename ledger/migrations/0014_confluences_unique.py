"""Confluences are a set (issue 29): the signals stored before intake deduplicated them keep each name once, in
the order first seen, as intake now stores them. Their audit history keeps what was recorded then."""

from django.db import migrations

from ledger.inputs import unique_confluences

BATCH = 2000


def deduplicate(apps, schema_editor):
    Signal = apps.get_model("ledger", "Signal")
    changed = []
    for pk, confluences in Signal.objects.values_list("pk", "confluences").order_by("pk").iterator(chunk_size=BATCH):
        unique = unique_confluences(confluences or [])
        if unique != (confluences or []):
            changed.append(Signal(pk=pk, confluences=unique))
    Signal.objects.bulk_update(changed, ["confluences"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0013_readable_labels"),
    ]

    operations = [
        migrations.RunPython(deduplicate, migrations.RunPython.noop, elidable=True),
    ]
