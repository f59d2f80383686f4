# syntax=docker/dockerfile:1
FROM node:20-bookworm AS build
WORKDIR /usr/src/app
COPY package.json yarn.lock .yarnrc ./
RUN yarn install --frozen-lockfile --network-timeout 600000
COPY . .
RUN yarn build

FROM node:20-bookworm-slim
WORKDIR /usr/src/app
ENV PORT=3000
ENV NODE_ENV=production
COPY package.json yarn.lock .yarnrc ./
RUN yarn install --frozen-lockfile --production && yarn cache clean
COPY --from=build /usr/src/app/dist ./dist
EXPOSE 3000
# yarn start runs node dist/server.js
CMD ["yarn", "start"]
