from django.urls import path

from tickets import views

app_name = "tickets"
urlpatterns = [
    path("queues/", views.my_queue, name="my_queue"),
    path("queues/<str:team>/", views.queue, name="queue"),
    path("queues/<str:team>/rows/<str:ticket_id>/", views.queue_row, name="queue_row"),
    path("queues/<str:team>/bulk/", views.bulk, name="bulk"),
    path("tickets/<str:ticket_id>/", views.ticket_page, name="ticket"),
    path("tickets/<str:ticket_id>/<str:action>/", views.ticket_action, name="action"),
]
