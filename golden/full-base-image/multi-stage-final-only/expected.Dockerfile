FROM node:20 AS build
WORKDIR /src
COPY . .
RUN npm ci && npm run build

FROM node:20-slim
WORKDIR /app
COPY --from=build /src/dist ./dist
CMD ["node", "dist/main.js"]
