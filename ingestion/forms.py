"""Query parameters of the ingestion pages, parsed by Django forms."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _

from ingestion.transcripts import Hints

# Row numbers are stored as 64-bit integers: a larger one cannot even be asked of MongoDB.
ROW_MAX = 2**62
FILENAME_MAX_BYTES = 200


class QuarantinePageForm(forms.Form):
    """Which page of a job's quarantined rows the admin shows: those after row `after` (the
    previous page's last row; none or -1: from the first)."""

    after = forms.IntegerField(required=False, min_value=-1, max_value=ROW_MAX)

    def after_row(self) -> int:
        """The row to start after; -1 (the first page) when `after` is missing or invalid."""
        if not self.is_valid() or self.cleaned_data["after"] is None:
            return -1
        return self.cleaned_data["after"]


class UploadStartForm(forms.Form):
    """The upload page's JSON announcement of a file: its name, its size in bytes and,
    optionally, the source to ingest it as (the service checks the limits and the kind)."""

    filename = forms.CharField()
    size = forms.IntegerField(min_value=1)
    source = forms.CharField(max_length=64, required=False)

    def clean_filename(self) -> str:
        """The stored file is named "<upload id>-<name>": the name must leave room for the id
        within a file system's 255 bytes."""
        name = self.cleaned_data["filename"]
        if len(name.encode()) > FILENAME_MAX_BYTES:
            raise forms.ValidationError(_("a file name of at most %(max)d bytes") % {"max": FILENAME_MAX_BYTES})
        return name


class MessageFilesForm(forms.Form):
    """The upload page's second form: e-mails and call transcripts, small enough to ingest
    within the request (larger mailboxes go through `manage.py ingest_mail`), and what a
    transcript's file may not say. A start without a zone is the operator's time."""

    caller = forms.CharField(max_length=40, required=False)
    started_at = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    agents = forms.CharField(max_length=400, required=False)

    def clean(self) -> dict:
        data = super().clean()
        files = self.files.getlist("files") if self.files else []
        if not files:
            raise forms.ValidationError(_("Choose one or more files."))
        limit = settings.DALLOSH_INGEST.stream_max_bytes
        if sum(upload.size for upload in files) > limit:
            raise forms.ValidationError(_("These files hold over %(limit)d bytes: send a large mailbox with "
                                          "manage.py ingest_mail.") % {"limit": limit})
        return data

    def hints(self) -> Hints:
        data = self.cleaned_data
        return Hints(caller=data.get("caller") or "", started_at=data.get("started_at"),
                     agents=Hints.names(data.get("agents")))
