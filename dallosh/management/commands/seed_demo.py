"""Create the demo accounts of the embedded default and print how to log in."""

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from dallosh.permissions import INGEST_GROUP
from tickets.models import RoutingRule

# An example an admin can edit or delete: threats to go to the regulator or the press are urgent.
DEMO_RULES = [
    {"name": "Regulator, press or lawyer mentioned: urgent", "priority": 10,
     "keywords": "arcep, ufc, que choisir, 60 millions, avocat, lawyer, regulator, fcc, bbb, journalist",
     "set_urgency": "high"},
]


class Command(BaseCommand):
    help = "Create (or reset) the demo admin and stream-integration accounts and print their logins."

    def handle(self, *args, **options) -> None:
        password = os.environ.get("DALLOSH_DEMO_PASSWORD", "dallosh-demo")
        users = get_user_model()
        admin, _ = users.objects.get_or_create(username="admin", defaults={"email": "admin@dallosh.local"})
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        stream, _ = users.objects.get_or_create(username="stream-bot")
        stream.set_unusable_password()
        stream.save()
        stream.groups.add(Group.objects.get_or_create(name=INGEST_GROUP)[0])
        token, _ = Token.objects.get_or_create(user=stream)
        for rule in DEMO_RULES:
            RoutingRule.objects.get_or_create(name=rule["name"], defaults=rule)
        self.stdout.write(
            "Demo login: http://127.0.0.1:8000  user: admin  password: " + password + "\n"
            "Stream API: POST http://127.0.0.1:8000/api/v1/ingest/stream  "
            f"header 'Authorization: Token {token.key}'"
        )
