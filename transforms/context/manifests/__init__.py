"""DO601: dependency manifests copied (and installed) before the source."""
