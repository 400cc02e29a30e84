from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dallosh import permissions
from dashboard import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Managers and admins land on the overview; agents on their queue."""
    if not permissions.is_manager(request.user) and permissions.agent_teams(request.user):
        return redirect("tickets:my_queue")
    return render(request, "dashboard/home.html", {"overview": selectors.overview()})
