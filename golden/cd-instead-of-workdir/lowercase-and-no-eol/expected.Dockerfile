from debian:12
workdir /app
workdir /src
run make
workdir /app