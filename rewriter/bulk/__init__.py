"""`dockopt bulk`: fix the Dockerfiles of many repositories (front end)."""
