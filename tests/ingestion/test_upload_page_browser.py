"""The upload page in headless Chromium: log in, upload in slices, watch the worker finish."""

import csv

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from ingestion.models import Tweet
from tests.steps import wait_for


@pytest.mark.django_db(transaction=True)
def test_staff_uploads_a_csv_and_sees_it_ingested(browser, live_server, admin_user, qcluster_worker, shared_data,
                                                  tmp_path, settings):
    settings.DALLOSH_INGEST = settings.DALLOSH_INGEST.replace(upload_chunk_bytes=64 * 1024)  # several slices
    sample = tmp_path / "first_800.csv"
    with (shared_data / "twcs_sample.csv").open(newline="", encoding="utf-8") as source, sample.open("w") as target:
        writer = csv.writer(target)
        for _, row in zip(range(801), csv.reader(source)):  # header + 800 records (tweet 3399 comes later)
            writer.writerow(row)

    browser.get(f"{live_server.url}/login/?next=/ingest/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys("password")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    file_input = WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.ID, "file")))
    assert browser.current_url.endswith("/ingest/")
    file_input.send_keys(str(sample))
    browser.find_element(By.ID, "start").click()

    message = wait_for(lambda: browser.find_element(By.ID, "message").text, until=bool, timeout=120)
    browser.save_screenshot(str(tmp_path / "upload.png"))
    assert message == "Done.", browser.find_element(By.ID, "job-text").text
    assert browser.find_element(By.ID, "upload-pct").text == "100"
    assert browser.find_element(By.ID, "job-pct").text == "100"
    assert "completed" in browser.find_element(By.ID, "job-text").text
    assert Tweet.objects.count() == 800
