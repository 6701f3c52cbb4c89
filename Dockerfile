# Model Manager: the release server and the built site on Debian 12 (the glibc the release
# build targets). Copies prebuilt artifacts: run `scripts/container.sh build` (or
# `scripts/container.sh stage` and then `docker build`), see the README's "Container" section.
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --system --uid 1000 --user-group --no-create-home --home-dir /nonexistent app \
 && mkdir -p /workspace/models /workspace/datasets \
 && chown app:app /workspace/models /workspace/datasets

COPY dist/model-manager /usr/local/bin/model-manager
# `server`, the binary's former name, stays an alias: started without arguments it serves.
RUN ln -s model-manager /usr/local/bin/server
COPY dist/site /srv/model-manager/site

ENV MODELS_DIR=/workspace/models \
    DATASETS_DIR=/workspace/datasets \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LEPTOS_SITE_ROOT=/srv/model-manager/site \
    LEPTOS_OUTPUT_NAME=model-manager \
    RUST_LOG=info

USER app
VOLUME /workspace/models
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/model-manager", "healthcheck"]
# `docker run IMAGE` serves; `docker exec NAME model-manager list` (or `docker run IMAGE
# list --server ...`) is the command line.
ENTRYPOINT ["/usr/local/bin/model-manager"]
CMD ["serve"]
