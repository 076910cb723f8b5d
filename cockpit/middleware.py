"""HTTP middleware owned by the project package."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.http import HttpRequest, HttpResponse

from cockpit.request_context import new_request_id, reset_request_id, set_request_id


class IdentifiedRequest(HttpRequest):
    """A request after ``RequestIdMiddleware``: it carries its id (for type checking)."""

    request_id: str


class RequestIdMiddleware:
    """Give every request an id, expose it as ``request.request_id`` and in the ``X-Request-Id`` header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get("X-Request-Id"))
        cast(IdentifiedRequest, request).request_id = request_id
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


PROVIDER_NAMESPACES = frozenset({"aws_xks", "ms_dke"})


class ProviderFastPathMiddleware:
    """Serve the provider protocol endpoints (XKS, DKE) without the browser middleware below this one.

    Those endpoints authenticate every request themselves (SigV4, Entra bearer tokens), keep no session,
    set no cookie and render no HTML, so sessions, CSRF, Django auth, OTP, messages, lockout and CSP have
    nothing to do for them; running the chain anyway costs about a quarter of a provider call. Placed
    after the request id, error page and security middleware (their headers still apply); every other
    path goes down the whole chain.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith("/dke/") or "/kms/xks/v1" in path:
            from django.urls import Resolver404, resolve

            try:
                match = resolve(path)
            except Resolver404:
                return self.get_response(request)
            if match.namespace in PROVIDER_NAMESPACES:
                request.resolver_match = match
                response: HttpResponse = match.func(request, *match.args, **match.kwargs)
                return response
        return self.get_response(request)
