FROM node:20-slim
WORKDIR /app
RUN chown node:node /app
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci
COPY --chown=node:node . .
RUN npm run build
USER 1000:1000
CMD ["node", "dist/server.js"]
