FROM debian:buster
RUN apt-get update && apt-get install -y curl \
    && curl -fsSL https://deb.nodesource.com/setup_14.x | bash - \
    && apt-get install -y nodejs
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --production
