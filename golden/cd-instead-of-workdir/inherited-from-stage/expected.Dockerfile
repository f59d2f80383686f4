FROM debian:12 AS base
WORKDIR /work

FROM base
WORKDIR /opt
RUN ls \
    && touch done
WORKDIR /work
CMD ["ls"]
