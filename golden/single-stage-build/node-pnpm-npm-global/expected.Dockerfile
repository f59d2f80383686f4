from node:18 as app
workdir /srv
run npm i -g pnpm@8
copy . .
run pnpm i --frozen-lockfile
run pnpm run build
user node
cmd node dist/server.js

from node:18-slim
workdir /srv
env NODE_ENV=production
run npm i -g pnpm@8
copy package.json pnpm-lock.yaml .npmrc ./
run pnpm install --frozen-lockfile --prod
copy --from=app /srv/dist ./dist
user node
cmd node dist/server.js
