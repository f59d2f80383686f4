from node:20-slim
run corepack enable
workdir /home/node/app
copy --chown=node:node package.json pnpm-lock.yaml ./
user node
run pnpm install --frozen-lockfile
copy --chown=node:node . .
cmd ["node", "index.js"]
