from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = "Analysis"

    def ready(self) -> None:
        """Analysis follows what the stages below announce: chunks ingested (their tickets
        are queued), labels corrected (the prompts' examples change)."""
        from analysis import (
            checks,  # noqa: F401  (registers the fast tier's system check)
            corrections,
            services,
        )
        from ingestion import events as ingestion_events
        from tickets import events as ticket_events

        ingestion_events.chunk_checkpointed.connect(services.enqueue_after_ingest, dispatch_uid="analysis-enqueue")
        ticket_events.labels_corrected.connect(corrections.forget_on_correction, dispatch_uid="analysis-corrections")
