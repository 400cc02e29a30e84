from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class DalloshConfig(AppConfig):
    name = "dallosh"
    label = "dallosh"
    verbose_name = "Dallosh"

    def ready(self) -> None:
        from dallosh import access, mongo

        mongo.connect()
        access.connect_signals()


class DalloshAdminConfig(AdminConfig):
    """The admin, extended with pages for the documents that live in MongoDB."""

    default_site = "dallosh.admin_site.DalloshAdminSite"
