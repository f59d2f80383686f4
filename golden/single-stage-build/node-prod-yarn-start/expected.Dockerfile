FROM node:18-bookworm AS build
WORKDIR /app
RUN npm install -g yarn@1.22.22
COPY . .
RUN yarn --production

FROM node:18-bookworm-slim
WORKDIR /app
RUN npm install -g yarn@1.22.22
COPY --from=build /app/node_modules ./node_modules
COPY . .
EXPOSE 8080
CMD ["yarn", "start"]
