FROM alpine:3.20 AS a
LABEL org.opencontainers.image.authors="boyan.au@gmail.com"
FROM alpine:3.20 AS b
LABEL org.opencontainers.image.authors="Dan Walsh <dwalsh@redhat.com>"
FROM alpine:3.20 AS c
LABEL org.opencontainers.image.authors="Jacek Marchwicki \"jacek@example.com\""
FROM alpine:3.20 AS d
LABEL org.opencontainers.image.authors="Michal Cichra <michal@example.net> # 2014-06-12"
FROM alpine:3.20 AS e
label org.opencontainers.image.authors="ops@example.com"
FROM alpine:3.20 AS f
LABEL org.opencontainers.image.authors="name=\"Jane\" email=\"jane@example.com\""
FROM alpine:3.20
LABEL org.opencontainers.image.authors="T. Kim, Ph.D."
