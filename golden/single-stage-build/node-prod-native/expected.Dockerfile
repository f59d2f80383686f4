# syntax=docker/dockerfile:1
FROM node:20-bookworm AS build
LABEL org.opencontainers.image.source="https://example.com/auth"
# node-gyp needs a compiler for bcrypt.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /srv/auth
COPY package.json package-lock.json ./
RUN npm ci && npm cache clean --force

FROM node:20-bookworm-slim
WORKDIR /srv/auth
ENV NODE_ENV=production
COPY --from=build /srv/auth/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY --chown=node:node src ./src
LABEL org.opencontainers.image.source="https://example.com/auth"
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s CMD ["node", "src/health.js"]
CMD ["node", "src/index.js"]
