from django.urls import path

from ingestion import views

app_name = "ingestion"
urlpatterns = [
    path("", views.upload_page, name="upload"),
    path("uploads/", views.upload_start, name="upload_start"),
    path("uploads/<str:upload_id>/chunk", views.upload_chunk, name="upload_chunk"),
    path("uploads/<str:upload_id>/finish", views.upload_finish, name="upload_finish"),
    path("messages/", views.upload_messages, name="upload_messages"),
    path("jobs/<str:job_id>/progress", views.job_progress, name="job_progress"),
]
