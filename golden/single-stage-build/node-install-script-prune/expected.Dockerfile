# An API in TypeScript
FROM node:20 AS build
WORKDIR /srv/api
COPY . .
RUN npm ci
RUN npm run build
RUN npm prune --omit=dev

FROM node:20-slim
WORKDIR /srv/api
ENV NODE_ENV=production
COPY --from=build /srv/api/package.json ./
COPY --from=build /srv/api/node_modules ./node_modules
COPY --from=build /srv/api/dist ./dist
EXPOSE 8080
CMD ["node", "dist/index.js"]
