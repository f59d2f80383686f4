FROM node:20-slim
WORKDIR /app
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --omit=dev
COPY --chown=node:node . .
USER 1000:1000

# start the server
CMD ["node", "server.js"]
