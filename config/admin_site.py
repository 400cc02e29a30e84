"""The admin site, with read-only pages for the documents that live in MongoDB.

Django's admin only knows SQL models; ingest jobs and quarantined rows live in MongoDB,
so they get plain admin views listed on the admin index under "MongoDB documents".
"""

from __future__ import annotations

from functools import wraps

from django.contrib import admin, messages
from django.contrib.admin.options import TO_FIELD_VAR
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from ingestion import selectors as ingestion_selectors
from ingestion.forms import QuarantinePageForm


class DalloshAdminSite(admin.AdminSite):
    site_header = "Dallosh administration"
    site_title = "Dallosh admin"

    def admin_view(self, view, cacheable=False):
        """Every admin page (the model admins' too), with an empty `_to_field` dropped:
        Django's change and delete views take "" for a field name and fail with
        FieldDoesNotExist, a 500, where no field means the primary key."""
        guarded = super().admin_view(view, cacheable)

        @wraps(guarded)
        def without_empty_to_field(request, *args, **kwargs):
            for name in ("GET", "POST") if request.method == "POST" else ("GET",):
                query = getattr(request, name)
                if query.get(TO_FIELD_VAR) == "":
                    query = query.copy()
                    del query[TO_FIELD_VAR]
                    setattr(request, name, query)
            return guarded(request, *args, **kwargs)

        return without_empty_to_field

    def get_urls(self):
        extra = [
            path("mongo/ingest-jobs/", self.admin_view(self.ingest_jobs_view), name="ingest_jobs"),
            path("mongo/ingest-jobs/<str:job_id>/", self.admin_view(self.ingest_job_view), name="ingest_job"),
        ]
        return extra + super().get_urls()

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label is None and request.user.is_staff:
            app_list.append({
                "name": "MongoDB documents",
                "app_label": "mongo",
                "app_url": reverse("admin:ingest_jobs"),
                "has_module_perms": True,
                "models": [{
                    "name": "Ingest jobs and quarantined rows",
                    "object_name": "IngestJob",
                    "admin_url": reverse("admin:ingest_jobs"),
                    "view_only": True,
                    "perms": {"view": True},
                }],
            })
        return app_list

    def ingest_jobs_view(self, request):
        jobs = [ingestion_selectors.job_progress(job) | {"created_at": job.created_at}
                for job in ingestion_selectors.recent_jobs(limit=200)]
        context = {**self.each_context(request), "title": _("Ingest jobs"), "jobs": jobs}
        return TemplateResponse(request, "admin/ingest_jobs.html", context)

    def ingest_job_view(self, request, job_id: str):
        job = ingestion_selectors.get_job(job_id)
        if job is None:
            raise Http404(_("No such ingest job."))
        page = QuarantinePageForm(request.GET)
        if not page.is_valid():  # a hand-edited link: say so, and show the first rows
            messages.error(request, _("The page asked for is not a row number: showing the first quarantined rows."))
        rows = ingestion_selectors.quarantined_rows(job=job, after_row=page.after_row(), limit=200)
        context = {**self.each_context(request), "title": _("Ingest job %(file)s") % {"file": job.original_name},
                   "job": ingestion_selectors.job_progress(job), "rows": rows,
                   "next_after": rows[-1].row if len(rows) == 200 else None}
        return TemplateResponse(request, "admin/ingest_job.html", context)
