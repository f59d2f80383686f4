FROM scratch AS base
COPY app /app

FROM base
cmd   ["/app", "-v"]
