FROM node:20-slim
WORKDIR /srv
COPY app/package.json app/package-lock.json ./
RUN npm ci --omit=dev
COPY app/ ./
CMD ["node", "index.js"]
