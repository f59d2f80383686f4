# An API in TypeScript
FROM node:20 AS build
WORKDIR /srv/api
COPY . .
RUN npm ci
RUN npm run build

FROM node:20-slim
WORKDIR /srv/api
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY --from=build /srv/api/dist ./dist
EXPOSE 8080
CMD ["node", "dist/index.js"]
