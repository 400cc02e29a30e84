"""The alert watch runs every minute on the django-q2 cluster, and two starting rules an
admin can edit: an outage burst (network complaints at three times their usual rate) and a
share of high-urgency tickets."""

from django.db import migrations

SCHEDULE = "dashboard: evaluate alerts"
STARTING_RULES = [
    {"name": "Possible network outage", "kind": "outage_burst", "threshold": 3.0, "window_minutes": 60,
     "min_tickets": 10, "region_keywords": "paris, lyon, marseille, toulouse, nice, nantes, strasbourg, montpellier, "
                                           "bordeaux, lille, rennes, london, new york, chicago, los angeles"},
    {"name": "High-urgency share above 40 %", "kind": "high_urgency_share", "threshold": 40.0, "window_minutes": 60,
     "min_tickets": 20},
]


def create(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(name=SCHEDULE, defaults={
        "func": "dashboard.tasks.evaluate_alerts", "schedule_type": "I", "minutes": 1, "repeats": -1})
    AlertRule = apps.get_model("dashboard", "AlertRule")
    for rule in STARTING_RULES:
        AlertRule.objects.get_or_create(name=rule["name"], defaults=rule)


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("dashboard", "0001_alert_rules"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
