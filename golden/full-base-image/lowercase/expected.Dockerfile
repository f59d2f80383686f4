from node:lts-slim as web
workdir /app
copy . .
cmd ["node", "index.js"]
