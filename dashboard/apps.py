from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        """The KPI rollups follow what the stages below announce: tweets stored, tickets written."""
        from dashboard import kpis
        from ingestion import events as ingestion_events
        from tickets import events as ticket_events

        ingestion_events.tweets_stored.connect(kpis.count_stored_tweets, dispatch_uid="kpi-tweets")
        ticket_events.tickets_written.connect(kpis.count_written_tickets, dispatch_uid="kpi-tickets")
