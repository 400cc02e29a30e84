from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class WiringConfig(AppConfig):
    """An app only for its management commands (seed_demo): the wiring has no models."""

    name = "config"
    label = "config"
    verbose_name = "Dallosh wiring"


class DalloshAdminConfig(AdminConfig):
    """The admin, extended with pages for the documents that live in MongoDB."""

    default_site = "config.admin_site.DalloshAdminSite"
