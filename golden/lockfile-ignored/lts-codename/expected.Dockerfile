FROM node:hydrogen-bookworm
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
