FROM node:20 AS build
WORKDIR /app
COPY . .
RUN corepack enable && yarn install --immutable
RUN yarn workspaces focus --all --production

FROM node:20-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY . .
EXPOSE 8080
CMD ["node", "server.js"]
