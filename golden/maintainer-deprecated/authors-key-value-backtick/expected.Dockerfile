# escape=`
FROM mcr.microsoft.com/windows/nanoserver:ltsc2022
LABEL org.opencontainers.image.authors="C:\Users\jane <jane@example.com>"
