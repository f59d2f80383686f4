FROM node:20-slim AS build
ENV NODE_ENV=development
WORKDIR /app
RUN corepack enable && corepack prepare pnpm@8.15.9 --activate
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=development
RUN corepack enable && corepack prepare pnpm@8.15.9 --activate
COPY package.json pnpm-lock.yaml ./
RUN pnpm install --frozen-lockfile --prod
COPY --from=build /app/dist ./dist
CMD ["node", "dist/server.js"]
