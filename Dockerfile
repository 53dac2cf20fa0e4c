# Groundswell: a slim, non-root image running `groundswell serve` on 0.0.0.0:8000.
# Configure with GROUNDSWELL_* variables (README: Configuration); production needs
# GROUNDSWELL_SECRET_KEY and, typically, GROUNDSWELL_DATABASE_URL=postgresql+psycopg://…
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY templates ./templates
COPY migrations ./migrations
RUN pip install --no-cache-dir --upgrade pip build && python -m build --wheel --outdir /dist

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GROUNDSWELL_ENV=production \
    GROUNDSWELL_DATABASE_URL=sqlite:////data/groundswell.db
RUN useradd --create-home --uid 10001 groundswell && mkdir /data && chown groundswell /data
COPY --from=build /dist/*.whl /tmp/
RUN for w in /tmp/*.whl; do pip install --no-cache-dir "$w[semantic]"; done && rm /tmp/*.whl
USER groundswell
WORKDIR /home/groundswell
# Derive the opt-in integer-arithmetic sentence encoder (GROUNDSWELL_SEARCH_ENCODER=int8) into
# ~/.cache/groundswell once, in the image, rather than at a container's first start.
RUN python -c "from app.search.embedding import load_encoder; load_encoder(arithmetic='int8')"
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["groundswell", "serve", "--host", "0.0.0.0", "--port", "8000"]
