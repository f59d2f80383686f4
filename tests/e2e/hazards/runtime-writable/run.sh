#!/bin/sh
# The app writes its results into a folder the image created as root.
set -e
date > /app/results/last-run.txt
echo ok
