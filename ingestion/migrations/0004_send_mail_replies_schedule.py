"""Every minute, the housekeeping cluster sends agents' e-mail replies whose attempt is due
(when DALLOSH_SMTP_URL names a server; otherwise the task does nothing)."""

from django.db import migrations

NAME = "ingestion: send e-mail replies"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(name=NAME, defaults={
        "func": "ingestion.tasks.send_mail_replies", "schedule_type": "I", "minutes": 1, "repeats": -1})


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("ingestion", "0003_poll_mailbox_schedule"),
    ]

    operations = [migrations.RunPython(create, remove)]
