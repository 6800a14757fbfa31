"""Composition root: settings, build_services, create_app and the CLI."""
