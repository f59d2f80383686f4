"""DO101: the builder/runtime split. ``single_stage`` holds the transform and the family
table; ``common`` the shared planning; one module per family."""
