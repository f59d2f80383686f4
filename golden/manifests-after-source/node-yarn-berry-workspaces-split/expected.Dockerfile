FROM node:20 AS build
WORKDIR /repo
COPY package.json yarn.lock .yarnrc.yml ./
COPY .yarn/releases/yarn-4.1.0.cjs ./.yarn/releases/
COPY packages/api/package.json ./packages/api/
COPY packages/web/package.json ./packages/web/
RUN yarn install --immutable
COPY . .
RUN yarn workspaces foreach -A run build
