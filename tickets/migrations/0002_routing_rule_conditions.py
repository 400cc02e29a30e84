"""Routing rules gain urgency and author conditions and several keywords; the actions are
renamed (route_to_team, set_urgency) so that `urgency` can be a condition."""

from django.db import migrations, models

URGENCY_CHOICES = [("high", "High"), ("medium", "Medium"), ("low", "Low")]


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="routingrule", name="routing_rule_sets_something"),
        migrations.RenameField(model_name="routingrule", old_name="team", new_name="route_to_team"),
        migrations.RenameField(model_name="routingrule", old_name="urgency", new_name="set_urgency"),
        migrations.RenameField(model_name="routingrule", old_name="keyword", new_name="keywords"),
        migrations.AlterField(
            model_name="routingrule", name="keywords",
            field=models.CharField(blank=True, max_length=500,
                                   help_text="comma-separated; any of them in the cleaned text, any case"),
        ),
        migrations.AddField(
            model_name="routingrule", name="urgency",
            field=models.CharField(blank=True, choices=URGENCY_CHOICES, max_length=16,
                                   help_text="the urgency the model gave"),
        ),
        migrations.AddField(
            model_name="routingrule", name="author",
            field=models.CharField(blank=True, max_length=120, help_text="the customer's handle, without @"),
        ),
        migrations.AddConstraint(
            model_name="routingrule",
            constraint=models.CheckConstraint(condition=models.Q(("route_to_team", ""), ("set_urgency", ""),
                                                                 _negated=True),
                                              name="routing_rule_sets_something",
                                              violation_error_message="A rule must set a team, an urgency, or both."),
        ),
    ]
