"""Every hour, the housekeeping cluster deletes the uploads left unfinished for a day (their
partial files and sessions): abandoned slices never fill the disk."""

from django.db import migrations

NAME = "ingestion: expire abandoned uploads"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(name=NAME, defaults={
        "func": "ingestion.tasks.expire_abandoned_uploads", "schedule_type": "I", "minutes": 60, "repeats": -1})


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
