# The mock as a container image: `docker build -t bulk-messaging-mock .` then
# `docker run --rm -p 8080:8080 bulk-messaging-mock` (README: "Container image").
FROM python:3.11-slim

# A venv rather than the system site-packages: works the same on the official image and on a
# Debian python3 base (where pip refuses to touch the system packages).
ENV VIRTUAL_ENV=/opt/mock \
    PATH=/opt/mock/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# One layer for the source (the .dockerignore keeps the context to what `pip install .` needs)
# and one for the install: the slim install only (server, clients, pytest plugin; no extras).
COPY . /tmp/src
RUN python -m venv /opt/mock \
 && /opt/mock/bin/pip install --quiet /tmp/src \
 && rm -rf /tmp/src \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mock

# Settings: every `mock-server` flag also reads MOCK_<FLAG> (MOCK_SEED=7, MOCK_CONFIG=/config/mock.yaml,
# MOCK_PORT, MOCK_THREADS, MOCK_QUIET=1 ...); a flag given on the command line wins.
ENV MOCK_HOST=0.0.0.0 \
    MOCK_PORT=8080
EXPOSE 8080
USER mock
WORKDIR /tmp

HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('MOCK_PORT', '8080') + '/_mock/health', timeout=2)"]

# Exec form: mock-server is PID 1 and gets SIGTERM itself (it exits at once on SIGTERM).
ENTRYPOINT ["mock-server"]
