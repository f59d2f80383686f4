"""Transforms that read the build context or the image: manifests first, lockfiles,
.dockerignore, install order, slimmer base images, the non-root user."""
