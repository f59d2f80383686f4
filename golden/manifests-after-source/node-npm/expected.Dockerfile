FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev
# the application
COPY . .
CMD ["node", "src/index.js"]
