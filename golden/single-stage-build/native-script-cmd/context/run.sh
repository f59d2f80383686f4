#!/bin/sh
exec ./hello "$@"
