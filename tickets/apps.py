from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        """Tickets come from the conversations ingestion writes: it calls this stage's deriver."""
        from ingestion import events as ingestion_events
        from tickets import conversations

        ingestion_events.derive_tickets_with(conversations.derive_from_conversations)
