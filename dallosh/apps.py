from django.apps import AppConfig


class DalloshConfig(AppConfig):
    name = "dallosh"
    label = "dallosh"
    verbose_name = "Dallosh"

    def ready(self) -> None:
        from dallosh import access, mongo

        mongo.connect()
        access.connect_signals()

