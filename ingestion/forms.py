"""Query parameters of the ingestion pages, parsed by Django forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _

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
