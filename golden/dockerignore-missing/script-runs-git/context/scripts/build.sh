#!/bin/sh
set -e
REV=$(git rev-parse --short HEAD)
go build -ldflags "-X main.rev=$REV" -o app .
