"""dockopt.templates: jinja2 templates for stages, .dockerignore and user creation."""
