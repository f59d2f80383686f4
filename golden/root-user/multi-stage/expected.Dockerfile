FROM node:20 AS build
WORKDIR /src
COPY . .
RUN npm ci && npm run build

FROM node:20-slim AS runtime
USER 1000:1000
ENV NODE_ENV=production
WORKDIR /app
COPY --chown=node:node --from=build /src/dist ./dist
COPY --chown=node:node --from=build /src/node_modules ./node_modules
CMD ["node", "dist/main.js"]
