"""The back-office roles as groups (dallosh/permissions.py names them), and the SLA watch
that flags breached tickets every minute on the django-q2 cluster."""

from django.db import migrations

from dallosh.permissions import ROLE_GROUPS

SCHEDULE = "tickets: flag SLA breaches"


def create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)
    apps.get_model("django_q", "Schedule").objects.update_or_create(name=SCHEDULE, defaults={
        "func": "tickets.tasks.flag_breaches", "schedule_type": "I", "minutes": 1, "repeats": -1})


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0002_routing_rule_conditions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
