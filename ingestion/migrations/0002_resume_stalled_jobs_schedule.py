"""Every minute, the housekeeping cluster queues again the ingest jobs whose worker died (a
stale heartbeat) or that never reached one (the broker was down): Redis never redelivers a
task, so without it a killed upload would stay "running" for good."""

from django.db import migrations

NAME = "ingestion: resume stalled jobs"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(name=NAME, defaults={
        "func": "ingestion.tasks.resume_stalled_jobs", "schedule_type": "I", "minutes": 1, "repeats": -1})


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("ingestion", "0001_upload_expiry_schedule"),
    ]

    operations = [migrations.RunPython(create, remove)]
