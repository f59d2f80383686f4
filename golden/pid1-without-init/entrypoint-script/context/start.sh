#!/bin/sh
set -e
/usr/local/bin/migrate
/usr/local/bin/server "$@"
