# eggbot: a plain, slim image (compose.yaml runs it with its volume; see the README's Docker section).
#   Build:      docker build -t eggbot .
#   Run:        docker run --env-file .env -v eggbot-data:/data eggbot
#   Playground: docker run -p 8090:8090 eggbot playground   (then open http://127.0.0.1:8090)
# The bot serves /healthz inside the container (EGGBOT_HEALTHZ), which HEALTHCHECK probes with Python
# (no curl here); the playground answers on 8090 instead: compose.yaml probes it there.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_PATH=/data/eggbot.db \
    EGGBOT_PLAYGROUND_HOST=0.0.0.0 \
    EGGBOT_PLAYGROUND_DATABASE=/data/playground.db \
    EGGBOT_HEALTHZ=true

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY bot ./bot
COPY cogs ./cogs
COPY testkit ./testkit
RUN pip install -c constraints.txt .[postgres] \
    && useradd --system --uid 10001 --home-dir /app eggbot \
    && mkdir -p /data && chown eggbot /data

USER eggbot
VOLUME ["/data"]
EXPOSE 8080 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot.ops.healthcheck"]
ENTRYPOINT ["python", "-m", "bot"]
