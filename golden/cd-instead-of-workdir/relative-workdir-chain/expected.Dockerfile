FROM node:20
WORKDIR /srv
WORKDIR app
WORKDIR /tmp
RUN npm pack left-pad
WORKDIR /srv/app
RUN ls
