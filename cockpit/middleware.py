"""HTTP middleware owned by the project package."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from cockpit.request_context import new_request_id, reset_request_id, set_request_id


class RequestIdMiddleware:
    """Give every request an id, expose it as ``request.request_id`` and in the ``X-Request-Id`` header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get("X-Request-Id"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-Id"] = request_id
        return response


class CockpitErrorPageMiddleware:
    """Render application errors raised in browser views as proper pages (404, 403, 409, ...), never 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.shortcuts import render

        from cockpit.errors import CockpitError

        if not isinstance(exception, CockpitError):
            return None
        context = {"status": exception.status_code, "message": exception.message}
        return render(request, "error.html", context, status=exception.status_code)
