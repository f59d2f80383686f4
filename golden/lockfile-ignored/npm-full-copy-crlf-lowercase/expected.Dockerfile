from node:18
workdir /app
copy . .
run npm ci && npm run build
