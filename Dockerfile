# The hotline service. Installs from the same lock file as scripts/bootstrap.sh.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HOTLINE_HTTP_HOST=0.0.0.0 HOTLINE_LOG_FORMAT=json
WORKDIR /srv/hotline

# espeak-ng and sox make the prompts (Mandarin and English) at start and when the menu changes.
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng sox \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
COPY prompts ./prompts
COPY ivr ./ivr
COPY deploy/docker/service-entrypoint.sh /usr/local/bin/hotline-entrypoint

RUN useradd --system --home /srv/hotline hotline
USER hotline
EXPOSE 8000
# Applies migrations, then runs the service (which refuses a schema that is behind).
ENTRYPOINT ["hotline-entrypoint"]
