FROM node:18-bookworm AS build
WORKDIR /usr/src/app
COPY . .
RUN yarn install --frozen-lockfile
RUN yarn build

FROM node:18-bookworm-slim
WORKDIR /usr/src/app
ENV NODE_ENV=production
COPY package.json yarn.lock ./
RUN yarn install --frozen-lockfile --production && yarn cache clean
COPY --from=build /usr/src/app/.next ./.next
COPY --from=build /usr/src/app/next.config.js ./next.config.js
COPY --from=build /usr/src/app/public ./public
CMD ["yarn", "start"]
