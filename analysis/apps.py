from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = "Analysis"

    def ready(self) -> None:
        """Analysis follows what the stages below announce: chunks ingested (their tickets
        are queued), labels corrected or a correction withdrawn (the prompts' examples change);
        and the refine cluster's workers lower their CPU priority as they start (analysis/tasks.py)."""
        from django_q.signals import post_spawn

        from analysis import (
            checks,  # noqa: F401  (registers the fast tier's system check)
            corrections,
            tasks,
            work,
        )
        from ingestion import events as ingestion_events
        from tickets import events as ticket_events

        post_spawn.connect(tasks.lower_refine_worker_priority, dispatch_uid="analysis-refine-nice")

        ingestion_events.chunk_checkpointed.connect(work.enqueue_after_ingest, dispatch_uid="analysis-enqueue")
        ticket_events.labels_corrected.connect(corrections.forget_on_correction, dispatch_uid="analysis-corrections")
        ticket_events.correction_withdrawn.connect(corrections.forget_on_correction,
                                                   dispatch_uid="analysis-corrections-withdrawn")
