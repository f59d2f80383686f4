FROM --platform=linux/amd64 node:18.19.1-bookworm-slim AS app
WORKDIR /app
COPY dist/ ./dist/
CMD ["node", "dist/index.js"]
