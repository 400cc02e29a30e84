"""Every minute, the housekeeping cluster reads the support mailbox's new messages (when
DALLOSH_IMAP_URL names one; otherwise the task does nothing)."""

from django.db import migrations

NAME = "ingestion: poll the support mailbox"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(name=NAME, defaults={
        "func": "ingestion.tasks.poll_mailbox", "schedule_type": "I", "minutes": 1, "repeats": -1})


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("ingestion", "0002_resume_stalled_jobs_schedule"),
    ]

    operations = [migrations.RunPython(create, remove)]
