"""config/admin_site.py: the Django admin, with read-only pages for what lives in MongoDB (ingest
jobs and their quarantined rows, listed on the index under "MongoDB documents"), and an empty
`_to_field` taken as "the primary key" on a form's POST too, not a 500. (A bad `after` on the
quarantine page, and an empty `_to_field` on a GET, are tested in tests/config/test_no_500.py.)"""

import re

import pytest

from ingestion.services import ingest_file
from tests.helpers import twcs_csv, twcs_row

pytestmark = pytest.mark.django_db

QUARANTINED_ROW = re.compile(r"<tr><td>\d+</td>")


def bad_dates_csv(count: int) -> str:
    """One good tweet, then `count` rows whose date does not parse (each quarantined)."""
    return twcs_csv(twcs_row(0, "8000", "cust0", "True", "no signal"),
                    *(f'{n},{8000 + n},cust{n},True,yesterday,"bad date {n}",,\n' for n in range(1, count + 1)))


def test_the_admin_index_lists_the_mongodb_documents_for_staff(admin_client):
    index = admin_client.get("/admin/").content.decode()
    assert "MongoDB documents" in index and "Ingest jobs and quarantined rows" in index
    assert 'href="/admin/mongo/ingest-jobs/"' in index


def test_the_ingest_jobs_page_lists_each_job_with_its_counters(admin_client, write_csv):
    assert "No ingest job yet." in admin_client.get("/admin/mongo/ingest-jobs/").content.decode()
    job = ingest_file(path=write_csv("october.csv", bad_dates_csv(2)))
    page = admin_client.get("/admin/mongo/ingest-jobs/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "<title>Imports | Dallosh admin</title>" in page
    assert f'<a href="/admin/mongo/ingest-jobs/{job.id}/">october.csv</a>' in page
    # 3 rows read, 2 quarantined, 1 tweet, 1 ticket
    assert "<td>3</td>\n      <td>2</td>\n      <td>1</td>\n      <td>1</td>" in page


def test_a_job_that_does_not_exist_is_not_found(admin_client):
    for job_id in ("000000000000000000000000", "not-an-id"):
        assert admin_client.get(f"/admin/mongo/ingest-jobs/{job_id}/").status_code == 404, job_id


def test_quarantined_rows_come_200_a_page_with_a_link_to_the_next(admin_client, write_csv):
    job = ingest_file(path=write_csv("many.csv", bad_dates_csv(203)))
    first = admin_client.get(f"/admin/mongo/ingest-jobs/{job.id}/").content.decode()
    assert len(QUARANTINED_ROW.findall(first)) == 200 and "bad date 200" in first and "bad date 201" not in first
    following = re.search(r'<a href="(\?after=\d+)">next rows', first).group(1)
    rest = admin_client.get(f"/admin/mongo/ingest-jobs/{job.id}/{following}").content.decode()
    assert len(QUARANTINED_ROW.findall(rest)) == 3 and "bad date 203" in rest and "next rows" not in rest


def test_an_empty_to_field_on_a_forms_post_means_the_primary_key(admin_client, django_user_model):
    leaving = django_user_model.objects.create_user(username="leaving", password="password")
    answer = admin_client.post(f"/admin/auth/user/{leaving.pk}/delete/?_to_field=", {"post": "yes", "_to_field": ""})
    assert answer.status_code == 302
    assert not django_user_model.objects.filter(username="leaving").exists()
