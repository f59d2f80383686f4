FROM node:20-alpine
WORKDIR /app
COPY index.js .
CMD ["node", "index.js"]
