# Møteplass: slim Python, non-root, database on a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATABASE_PATH=/data/moteplass.db

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY bot ./bot
COPY cogs ./cogs
COPY config ./config
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --create-home --uid 10001 moteplass \
    && mkdir -p /data && chown moteplass /data

USER moteplass
VOLUME ["/data"]

# Healthy when the database opens and answers; the bot itself logs connection trouble.
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
    CMD python -c "import sqlite3,os; sqlite3.connect(os.environ['DATABASE_PATH']).execute('SELECT 1')" || exit 1

CMD ["python", "-m", "bot", "run"]
