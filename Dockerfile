# eggbot: a plain, slim image.
#   Build:      docker build -t eggbot .
#   Run:        docker run --env-file .env -v eggbot-data:/data eggbot
#   Playground: docker run -p 8090:8090 eggbot playground   (then open http://127.0.0.1:8090)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_PATH=/data/eggbot.db \
    EGGBOT_PLAYGROUND_HOST=0.0.0.0 \
    EGGBOT_PLAYGROUND_DATABASE=/data/playground.db

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
EXPOSE 8090
ENTRYPOINT ["python", "-m", "bot"]
