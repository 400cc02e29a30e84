"""Create the demo accounts of the embedded default and print how to log in."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from dallosh import tokens
from dallosh.permissions import ADMIN_GROUP, AGENT_GROUP, INGEST_GROUP, MANAGER_GROUP, team_group
from tickets.models import RoutingRule

# An example an admin can edit or delete: threats to go to the regulator or the press are urgent.
DEMO_RULES = [
    {"name": "Regulator, press or lawyer mentioned: urgent", "priority": 10,
     "keywords": "arcep, ufc, que choisir, 60 millions, avocat, lawyer, regulator, fcc, bbb, journalist",
     "set_urgency": "high"},
]


# One demo account per role: an agent per team (and one on two teams), a manager, an admin.
DEMO_USERS = [
    ("agent-tech", [AGENT_GROUP, team_group("tech")], "agent, tech team"),
    ("agent-billing", [AGENT_GROUP, team_group("billing")], "agent, billing team"),
    ("agent-commercial", [AGENT_GROUP, team_group("commercial")], "agent, commercial team"),
    ("agent-multi", [AGENT_GROUP, team_group("tech"), team_group("billing")], "agent, tech and billing teams"),
    ("manager", [MANAGER_GROUP], "manager: every queue, KPI pages"),
    ("admin", [ADMIN_GROUP], "admin: Django admin, routing rules, users"),
]


class Command(BaseCommand):
    help = "Create (or reset) a demo account per role and the stream-integration account; print the logins."

    def handle(self, *args, **options) -> None:
        password = settings.DALLOSH_SITE.demo_password
        users = get_user_model()
        lines = []
        for username, groups, role in DEMO_USERS:
            user, _ = users.objects.get_or_create(username=username, defaults={"email": f"{username}@dallosh.local"})
            user.is_staff = user.is_superuser = username == "admin"
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])
            lines.append(f"  {username:<17} {password:<14} {role}")
        stream, _ = users.objects.get_or_create(username="stream-bot")
        stream.set_unusable_password()
        stream.save()
        stream.groups.add(Group.objects.get_or_create(name=INGEST_GROUP)[0])
        key = tokens.replace_token(stream)  # only its hash is kept: a new one each seeding, shown here
        for rule in DEMO_RULES:
            RoutingRule.objects.get_or_create(name=rule["name"], defaults=rule)
        self.stdout.write(
            "Demo logins at http://127.0.0.1:8000 (user, password, role):\n" + "\n".join(lines) + "\n"
            "Stream API: POST http://127.0.0.1:8000/api/v1/ingest/stream  "
            f"header 'Authorization: Token {key}'"
        )
