FROM node:18 AS build
WORKDIR /app
COPY . .
RUN npm install
RUN npm run build
RUN npm prune --omit=dev

FROM node:18-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
EXPOSE 3000
CMD ["node", "dist/server.js"]
