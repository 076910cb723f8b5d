# Cockpit control plane image: the same code serves HTTP (granian/WSGI), WebSockets (daphne/ASGI),
# Celery workers and beat; docker-compose.yml picks the command.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 COCKPIT_VAR_DIR=/var/lib/cockpit
RUN apt-get update \
 && apt-get install -y --no-install-recommends softhsm2 opensc libsodium23 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/cockpit --create-home cockpit

WORKDIR /app
COPY pyproject.toml README.md ./
COPY cockpit ./cockpit
COPY tenants ./tenants
COPY keys ./keys
COPY approvals ./approvals
COPY connectors ./connectors
COPY audit ./audit
COPY billing ./billing
COPY mpc ./mpc
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install --no-cache-dir . \
 && COCKPIT_ENV=production SECRET_KEY=build-only-not-used-at-runtime-0123456789abcdefghijklmnop \
    COCKPIT_TOKEN_PEPPER=build-only-not-used-at-runtime-0123 \
    COCKPIT_CONNECTOR_SEAL_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= python manage.py collectstatic --noinput -v0

USER cockpit
EXPOSE 8000 8001
CMD ["granian", "--interface", "wsgi", "cockpit.wsgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--blocking-threads", "32"]
