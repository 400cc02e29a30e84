from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        """Tickets come from the conversations ingestion announces."""
        from ingestion import events as ingestion_events
        from tickets import conversations

        ingestion_events.conversations_touched.connect(conversations.derive_from_conversations,
                                                       dispatch_uid="tickets-from-conversations")
