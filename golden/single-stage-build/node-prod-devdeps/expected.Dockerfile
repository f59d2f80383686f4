FROM node:18 AS build
WORKDIR /usr/src/app
COPY . .
RUN npm install --omit=dev

FROM node:18-slim
WORKDIR /usr/src/app
COPY --from=build /usr/src/app/node_modules ./node_modules
COPY . .
EXPOSE 8080
CMD ["npm", "start"]
