FROM node:20-bookworm AS build
ENV NODE_ENV=production
WORKDIR /usr/src/app
COPY . .
RUN npm ci --include=dev && \
    npm run build
RUN npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /usr/src/app
ENV NODE_ENV=production
COPY --from=build /usr/src/app/package.json ./
COPY --from=build /usr/src/app/node_modules ./node_modules
COPY --from=build /usr/src/app/build ./build
LABEL maintainer="ops@example.com"
# Liveness.
HEALTHCHECK --interval=30s CMD ["node", "-e", "require('http').get('http://localhost:3000/health')"]
EXPOSE 3000
CMD ["npm", "start"]
