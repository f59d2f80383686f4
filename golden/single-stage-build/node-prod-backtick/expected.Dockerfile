# escape=`
FROM node:18 AS build
WORKDIR /app
COPY . .
RUN npm install --omit=dev `
    --no-audit

FROM node:18-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY . .
CMD ["node", "server.js"]
