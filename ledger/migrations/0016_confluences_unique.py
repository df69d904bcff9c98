"""Confluences are a set (issue 29): the signals stored before intake deduplicated them keep each name once, in
the order first seen, as intake now stores them. Their audit history keeps what was recorded then."""

from django.db import migrations

BATCH = 2000


def unique_confluences(items):
    """The rule as ledger/inputs.py stated it on 2026-12-03, frozen here so that this migration does the same on
    an old database whatever intake becomes: each name trimmed of spaces, kept once, in the order first seen."""
    return list(dict.fromkeys(item.strip(" ") for item in items))


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
        ("ledger", "0015_market_lots_and_margin"),
    ]

    operations = [
        migrations.RunPython(deduplicate, migrations.RunPython.noop, elidable=True),
    ]
