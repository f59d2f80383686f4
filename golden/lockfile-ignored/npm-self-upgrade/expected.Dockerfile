FROM node:14
RUN npm install -g npm@8
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
