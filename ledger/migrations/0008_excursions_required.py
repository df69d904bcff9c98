from django.db import migrations, models


class Migration(migrations.Migration):
    """After 0007 filled them in (in a migration of its own, as 0006), the excursion prices have no default."""

    dependencies = [("ledger", "0007_candles_and_excursions")]

    operations = [
        migrations.AlterField(
            model_name="historicalpapertrade",
            name="max_price",
            field=models.DecimalField(
                decimal_places=8, help_text="The highest price traded while open.", max_digits=20
            ),
        ),
        migrations.AlterField(
            model_name="historicalpapertrade",
            name="min_price",
            field=models.DecimalField(decimal_places=8, help_text="The lowest price traded while open.", max_digits=20),
        ),
        migrations.AlterField(
            model_name="papertrade",
            name="max_price",
            field=models.DecimalField(
                decimal_places=8, help_text="The highest price traded while open.", max_digits=20
            ),
        ),
        migrations.AlterField(
            model_name="papertrade",
            name="min_price",
            field=models.DecimalField(decimal_places=8, help_text="The lowest price traded while open.", max_digits=20),
        ),
    ]
