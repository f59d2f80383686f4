FROM node:20-slim
WORKDIR /app
RUN chown node:node /app
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --omit=dev
USER 1000:1000
COPY --chown=node:node . .

# start the server
CMD ["node", "server.js"]
