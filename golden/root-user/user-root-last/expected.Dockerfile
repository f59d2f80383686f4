FROM node:20-slim
WORKDIR /app
COPY . .
USER node
RUN npm ci
USER node
CMD ["node", "index.js"]
