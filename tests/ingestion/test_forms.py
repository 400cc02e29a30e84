"""The ingestion pages' forms (ingestion/forms.py): a quarantine page link that is junk opens
the first page instead of failing, and an upload's file name must leave room for the upload
id within a file system's 255 bytes (counted in bytes, not characters)."""

import pytest
from django.utils import translation

from ingestion.forms import QuarantinePageForm, UploadStartForm

pytestmark = pytest.mark.no_servers


@pytest.mark.parametrize(("query", "after"), [
    ({}, -1), ({"after": ""}, -1), ({"after": "41"}, 41), ({"after": "-1"}, -1),
    ({"after": "row 3"}, -1), ({"after": "-7"}, -1), ({"after": str(2**62 + 1)}, -1),
])
def test_the_quarantine_page_starts_after_the_row_asked_or_from_the_first(query, after):
    assert QuarantinePageForm(query).after_row() == after


def test_an_upload_name_is_limited_to_200_bytes_so_accents_count_double():
    assert UploadStartForm({"filename": "a" * 196 + ".csv", "size": 10}).is_valid()  # 200 bytes
    accented = "é" * 101  # 101 characters, 202 bytes
    with translation.override("en"):
        form = UploadStartForm({"filename": accented, "size": 10})
        assert not form.is_valid() and form.errors["filename"] == ["a file name of at most 200 bytes"]
    with translation.override("fr"):
        form = UploadStartForm({"filename": accented, "size": 10})
        assert not form.is_valid() and form.errors["filename"] == ["un nom de fichier d'au plus 200 octets"]


def test_an_upload_announces_a_positive_size_and_an_optional_source():
    assert UploadStartForm({"filename": "feed.csv", "size": 1}).is_valid()
    with_source = UploadStartForm({"filename": "feed.csv", "size": 1, "source": "free_fr"})
    assert with_source.is_valid() and with_source.cleaned_data["source"] == "free_fr"
    assert set(UploadStartForm({"filename": "feed.csv", "size": 0}).errors) == {"size"}
    assert set(UploadStartForm({"filename": "feed.csv", "size": 1, "source": "s" * 65}).errors) == {"source"}
