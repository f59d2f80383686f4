FROM node:18-alpine AS build
RUN apk add --no-cache tini
WORKDIR /app
COPY package*.json ./
RUN npm install --omit=dev

FROM node:18-alpine
WORKDIR /app
RUN apk add --no-cache tini
COPY --from=build /app/node_modules ./node_modules
COPY . .
ENTRYPOINT ["/sbin/tini", "--"]
CMD ["node", "bin/www"]
