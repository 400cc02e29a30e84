"""Tokens made before only hashes were kept (DRF authtoken's table, keys in plain text):
each becomes an ApiToken holding the key's sha256, expiring DALLOSH_TOKEN_DAYS from now,
so scripts keep working; the plain keys are then deleted."""

import hashlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import migrations

OLD_TABLE = "authtoken_token"


def carry_over(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    api_token = apps.get_model("dallosh", "ApiToken")
    expires_at = datetime.now(UTC) + timedelta(days=settings.DALLOSH_ACCESS.token_days)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {OLD_TABLE}")
        rows = cursor.fetchall()
        for key, user_id, created in rows:
            token = api_token.objects.create(user_id=user_id, key_hash=hashlib.sha256(key.encode()).hexdigest(),
                                             prefix=key[:8], expires_at=expires_at)
            api_token.objects.filter(pk=token.pk).update(created=created)
        cursor.execute(f"DELETE FROM {OLD_TABLE}")


class Migration(migrations.Migration):
    dependencies = [("dallosh", "0001_initial")]

    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]
