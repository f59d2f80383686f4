from node:20-alpine as build
workdir /srv
copy . .
run npm ci
run npm run build
run npm prune --omit=dev

from node:20-alpine
workdir /srv
copy --from=build /srv/package.json ./
copy --from=build /srv/node_modules ./node_modules
copy --from=build /srv/dist ./dist
user node
cmd node dist/main.js
