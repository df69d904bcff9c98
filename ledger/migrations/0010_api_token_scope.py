from django.db import migrations, models


class Migration(migrations.Migration):
    """API tokens get a scope. Tokens made before could write, so they keep that (`trade`); new ones are made
    `read` unless asked otherwise."""

    dependencies = [
        ("ledger", "0009_trade_permission"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "read: every read"), ("trade", "trade: every read and write")],
                default="trade",
                max_length=5,
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "read: every read"), ("trade", "trade: every read and write")],
                default="read",
                max_length=5,
            ),
        ),
    ]
