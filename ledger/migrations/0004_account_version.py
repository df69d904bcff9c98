from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_history")]

    operations = [
        migrations.AddField(model_name="account", name="version", field=models.BigIntegerField(default=0)),
    ]
