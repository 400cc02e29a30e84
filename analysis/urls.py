from django.urls import path

from analysis import views

app_name = "drafts"
urlpatterns = [
    path("tickets/<str:ticket_id>/draft-reply/", views.request_draft, name="request"),
    path("tickets/<str:ticket_id>/draft-reply/latest/", views.latest_draft, name="latest"),
]
