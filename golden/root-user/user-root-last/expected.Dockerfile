FROM node:20-slim
WORKDIR /app
COPY . .
USER node
RUN npm ci
USER 1000:1000
CMD ["node", "index.js"]
