"""The flows dasan ships, one YAML file each; ``load_flows()`` reads them (see ../README.md)."""
