"""One suite per dataset kind: how its cases run through the system and how they are scored."""
