"""Create the demo accounts of the embedded default and print how to log in."""

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from dallosh.permissions import INGEST_GROUP


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
        self.stdout.write(
            "Demo login: http://127.0.0.1:8000  user: admin  password: " + password + "\n"
            "Stream API: POST http://127.0.0.1:8000/api/v1/ingest/stream  "
            f"header 'Authorization: Token {token.key}'"
        )
