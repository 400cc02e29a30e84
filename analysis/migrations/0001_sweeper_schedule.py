"""The analysis sweeper runs every minute on the django-q2 cluster: it hands out again the
tickets of a worker that died, and any ticket awaiting analysis that was never queued."""

from django.db import migrations

NAME = "analysis: sweep pending tickets"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(name=NAME, defaults={
        "func": "analysis.tasks.sweep_pending", "schedule_type": "I", "minutes": 1, "repeats": -1})


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
