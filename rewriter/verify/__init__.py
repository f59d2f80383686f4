"""`dockopt verify`: real builds of the original and the rewrite (front end)."""
