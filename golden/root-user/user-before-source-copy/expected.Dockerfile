FROM node:20-slim
WORKDIR /usr/src/app
RUN chown node:node /usr/src/app
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --omit=dev
USER 1000:1000
COPY --chown=node:node . .
EXPOSE 3000
CMD ["node", "server.js"]
