"""The chunked web upload (ingestion/views.py), end to end: slices, a real worker, the file
deleted once ingested."""

from bson import ObjectId
from django.core.files.uploadedfile import SimpleUploadedFile

from ingestion.models import IngestJob, Tweet
from tests.helpers import email_bytes, twcs_csv, twcs_row
from tests.steps import upload, wait_for
from tickets.models import Ticket


def test_upload_in_slices_is_ingested_by_a_real_worker(admin_client, qcluster_worker):
    """Upload endpoints → Redis broker → `manage.py qcluster` worker process → MongoDB, the
    file sent in several slices (a small file: the path is under test, not the rate)."""
    content = twcs_csv(*(twcs_row(n, 500 + n, f"cust{n}", "True", f"ma box ne marche plus, jour {n}",
                                  minute=n % 60) for n in range(300))).encode()
    assert admin_client.get("/ingest/").status_code == 200
    assert len(content) > 3 * 4096
    upload_id = upload(admin_client, content, slice_size=4096)
    resent = admin_client.post(f"/ingest/uploads/{upload_id}/chunk", content[:1024],
                               content_type="application/octet-stream", HTTP_X_UPLOAD_OFFSET="0")
    assert resent.status_code == 200 and resent.json()["received"] == len(content)  # a retried slice is ignored
    gap = admin_client.post(f"/ingest/uploads/{upload_id}/chunk", b"x",
                            content_type="application/octet-stream", HTTP_X_UPLOAD_OFFSET=str(len(content) + 5))
    assert gap.status_code == 400
    job = admin_client.post(f"/ingest/uploads/{upload_id}/finish").json()
    assert job["status"] == "pending"  # queued, not run inside the request
    progress = wait_for(lambda: admin_client.get(f"/ingest/jobs/{job['id']}/progress").json(),
                        until=lambda p: p["status"] in ("completed", "failed"), timeout=120)
    assert progress["status"] == "completed" and progress["progress"] == 1.0, progress
    assert progress["counters"]["rows_read"] == 300 and Tweet.objects.count() == 300


def test_upload_refuses_non_csv_and_non_staff(client, admin_client, django_user_model):
    refused = admin_client.post("/ingest/uploads/", {"filename": "photo.png", "size": 10},
                                content_type="application/json")
    assert refused.status_code == 400 and "CSV" in refused.json()["error"]
    client.force_login(django_user_model.objects.create_user("agent"))
    assert client.get("/ingest/").status_code == 403


def test_uploaded_files_are_deleted_once_ingested_and_abandoned_ones_expire(admin_client, settings, qcluster_worker):
    """The raw rows are kept in MongoDB for audit; the uploaded file is not needed after."""
    from datetime import UTC, datetime, timedelta

    from ingestion.models import UploadSession
    from ingestion.services import expire_abandoned_uploads

    uploads = settings.DALLOSH_INGEST.upload_dir
    content = twcs_csv(twcs_row(0, 1, "cust", "True", "my internet is down")).encode()
    job = admin_client.post(f"/ingest/uploads/{upload(admin_client, content)}/finish").json()
    wait_for(lambda: IngestJob.objects.get(id=ObjectId(job["id"])).status, until=lambda s: s == "completed",
             timeout=60)
    assert sorted(p.name for p in uploads.iterdir()) == []
    again = admin_client.post(f"/ingest/uploads/{upload(admin_client, content)}/finish").json()
    assert again["id"] == job["id"] and sorted(p.name for p in uploads.iterdir()) == []  # no orphan copy
    abandoned = upload(admin_client, content[:-5] + b"     ")
    fresh = upload(admin_client, content + b"\n")
    assert len(list(uploads.iterdir())) == 2
    UploadSession.objects(id=abandoned).update(set__created_at=datetime.now(UTC) - timedelta(hours=25))
    assert expire_abandoned_uploads() == 1
    assert [p.name for p in uploads.iterdir()] == [f"{fresh}.part"]
    assert UploadSession.objects(id=abandoned).count() == 0


def test_emails_and_transcripts_are_ingested_from_the_page_and_other_files_refused(admin_client):
    mail = SimpleUploadedFile("panne.eml", email_bytes(body="Plus d'internet depuis ce matin."))
    call = SimpleUploadedFile("appel.txt", b"Agent : Bonjour\nClient : ma facture est fausse\n")
    answer = admin_client.post("/ingest/messages/", {"files": [mail, call], "caller": "+33600000001",
                                                     "started_at": "2026-12-01T09:30"}, follow=True)
    page = answer.content.decode()
    assert answer.status_code == 200 and page.count("1 new, 0 quarantined, 1 ticket(s) made.") == 2
    assert Ticket.objects(channel="email").count() == 1 and Ticket.objects(channel="call").count() == 1
    call_ticket = Ticket.objects.get(channel="call")
    assert call_ticket.customer == "+33600000001" and call_ticket.created_at.hour == 8  # 9:30 in Paris is 8:30 UTC
    photo = SimpleUploadedFile("photo.png", b"\x89PNG")
    refused = admin_client.post("/ingest/messages/", {"files": [photo]}, follow=True).content.decode()
    assert "photo.png: not an e-mail" in refused
    empty = admin_client.post("/ingest/messages/", {}, follow=True).content.decode()
    assert "Choose one or more files." in empty
