from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dallosh.permissions import can_ingest
from dashboard import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/home.html", {"overview": selectors.overview(),
                                                   "can_ingest": can_ingest(request.user)})
