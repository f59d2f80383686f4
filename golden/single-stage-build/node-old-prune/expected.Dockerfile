FROM node:14 AS build
WORKDIR /app
COPY . .
RUN npm install && npm run build
RUN npm prune --production

FROM node:14-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/lib ./lib
CMD ["node", "lib/index.js"]
