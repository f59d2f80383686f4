FROM node:18-alpine
COPY package.json yarn.lock /srv/app/
WORKDIR /srv/app
ENV NODE_ENV=production
RUN yarn install --frozen-lockfile --production
COPY . /srv/app
CMD ["node", "server.js"]
