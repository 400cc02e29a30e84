"""Upload page and its JSON endpoints. Thin: every decision is in services/selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dallosh import json_input
from dallosh.middleware import answers_json
from dallosh.permissions import can_ingest
from ingestion import selectors, services
from ingestion.forms import MessageFilesForm, UploadStartForm


def _ingest_allowed(view):
    @answers_json  # its refusals (IngestError 400, UploadConflict 409): dallosh.middleware.DomainErrors
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_ingest(request.user):
            raise PermissionDenied(_("Ingestion is for staff."))
        return view(request, *args, **kwargs)

    return wrapped


@_ingest_allowed
@require_GET
def upload_page(request: HttpRequest) -> HttpResponse:
    jobs = [selectors.job_progress(job) for job in selectors.recent_jobs(limit=20)]
    return render(request, "ingestion/upload.html", {"jobs": jobs, "chunk_bytes": services.upload_chunk_bytes()})


@_ingest_allowed
@require_POST
def upload_start(request: HttpRequest) -> JsonResponse:
    try:
        body = json_input.loads(request.body)
    except ValueError:  # not JSON, not UTF-8, or nested too deeply
        body = None
    form = UploadStartForm(body if isinstance(body, dict) else None)
    if not form.is_valid():
        return JsonResponse({"error": _("expected JSON {filename, size[, source]}"), "fields": form.errors}, status=400)
    data = form.cleaned_data
    upload = services.start_upload(user=request.user.get_username(), filename=data["filename"],
                                   size_bytes=data["size"], source=data["source"] or None)
    return JsonResponse({"upload": str(upload.id), "received": upload.received_bytes})


@_ingest_allowed
@require_POST
def upload_chunk(request: HttpRequest, upload_id: str) -> JsonResponse:
    try:
        offset = int(request.headers.get("X-Upload-Offset", ""))
    except ValueError:
        return JsonResponse({"error": _("X-Upload-Offset header missing")}, status=400)
    upload = services.append_upload_chunk(upload_id=upload_id, user=request.user.get_username(), offset=offset,
                                          data=request.body)
    return JsonResponse({"received": upload.received_bytes, "size": upload.size_bytes})


@_ingest_allowed
@require_POST
def upload_finish(request: HttpRequest, upload_id: str) -> JsonResponse:
    job = services.finish_upload(upload_id=upload_id, user=request.user.get_username())
    return JsonResponse(selectors.job_progress(job))


@_ingest_allowed
@require_POST
def upload_messages(request: HttpRequest) -> HttpResponse:
    """E-mails (.eml, .mbox) and call transcripts sent from the page's second form."""
    form = MessageFilesForm(request.POST, request.FILES)
    if not form.is_valid():
        for problems in form.errors.values():
            messages.error(request, " ".join(problems))
        return redirect("ingestion:upload")
    files = [(upload.name, upload.read()) for upload in request.FILES.getlist("files")]
    try:
        jobs = services.ingest_message_files(files=files, user=request.user.get_username(), hints=form.hints())
    except services.IngestError as refused:  # a person's form: the sentence on the page, not a JSON 400
        messages.error(request, str(refused))
        return redirect("ingestion:upload")
    for job in jobs:
        messages.success(request, _("%(file)s: %(new)d new, %(quarantined)d quarantined, %(tickets)d ticket(s) made.")
                         % {"file": job.original_name, "new": job.counters.tweets_created,
                            "quarantined": job.counters.quarantined, "tickets": job.counters.tickets_created})
    return redirect("ingestion:upload")


@_ingest_allowed
@require_GET
def job_progress(request: HttpRequest, job_id: str) -> JsonResponse:
    job = selectors.get_job(job_id)
    if job is None:
        raise Http404(_("No such job."))
    return JsonResponse(selectors.job_progress(job))
