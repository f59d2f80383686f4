FROM node:20-slim
WORKDIR /app
COPY server.js .
CMD ["node", "server.js"]
