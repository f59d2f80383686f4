FROM node:18 AS build
WORKDIR /app
RUN npm install -g pnpm@8.15.9
COPY . .
RUN pnpm install --prod --frozen-lockfile

FROM node:18-slim
WORKDIR /app
RUN npm install -g pnpm@8.15.9
COPY --from=build /app/node_modules ./node_modules
COPY . .
EXPOSE 8080
CMD ["pnpm", "start"]
