# escape=`
FROM alpine:3.20
LABEL org.opencontainers.image.authors="Jo ``x`` `"q`" C:\dir `$HOME"
