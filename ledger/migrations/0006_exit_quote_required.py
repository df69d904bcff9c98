from django.db import migrations, models


class Migration(migrations.Migration):
    """After 0005 filled it in (a migration of its own: PostgreSQL refuses to alter a table that the same
    transaction has just updated), exit_quote has no default."""

    dependencies = [("ledger", "0005_fills_and_cash")]

    operations = [
        migrations.AlterField(
            model_name="historicalpapertrade",
            name="exit_quote",
            field=models.DecimalField(
                decimal_places=8, help_text="Where a market exit would fill at the last mark.", max_digits=20
            ),
        ),
        migrations.AlterField(
            model_name="papertrade",
            name="exit_quote",
            field=models.DecimalField(
                decimal_places=8, help_text="Where a market exit would fill at the last mark.", max_digits=20
            ),
        ),
        migrations.AddConstraint(
            model_name="papertrade",
            constraint=models.CheckConstraint(
                condition=models.Q(("exit_quote__gt", 0)), name="trade_exit_quote_positive"
            ),
        ),
    ]
