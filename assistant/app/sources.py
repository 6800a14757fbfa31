"""Turns the source arguments of `dasan ingest` into connectors."""

from __future__ import annotations

from pathlib import Path

import httpx

from assistant.app.settings import Settings
from assistant.core.errors import ConfigurationError
from assistant.ingest.ports import Connector

SEOUL_PREFIX = "seoul-openapi:"
SAMPLE = "sample"


class SourceSpecError(ValueError):
    """A source argument names nothing that can be ingested (a usage error)."""


class SourceResolver:
    """Resolves ``PATH``, ``seoul-openapi:SERVICE`` and ``sample`` (the bundled sample knowledge)."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient, *, sample_dir: Path) -> None:
        self._settings = settings
        self._http = http
        self._sample_dir = sample_dir

    def resolve(self, spec: str, *, mapping_file: Path | None = None) -> Connector:
        from connectors.folder import FolderConnector
        from connectors.table_mapping import load_table_mappings

        if spec.startswith(SEOUL_PREFIX):
            return self._seoul(spec.removeprefix(SEOUL_PREFIX))
        path = Path(spec)
        if spec == SAMPLE and not path.exists():
            return FolderConnector(
                self._sample_dir,
                source=SAMPLE,
                mappings=load_table_mappings(self._sample_dir / "mapping.yaml"),
                exclude=("README.md", "*.yaml"),
            )
        if not path.exists():
            raise SourceSpecError(
                f"{spec}: no such file or folder (sources are paths, '{SEOUL_PREFIX}SERVICE' or '{SAMPLE}')"
            )
        mappings = load_table_mappings(mapping_file) if mapping_file else None
        return FolderConnector(path, mappings=mappings)

    def _seoul(self, service: str) -> Connector:
        from connectors.seoul_openapi import SeoulOpenApiConnector

        section = self._settings.seoul_openapi
        if not service:
            raise SourceSpecError(
                f"'{SEOUL_PREFIX}' needs a service name, e.g. {SEOUL_PREFIX}SearchFAQService"
            )
        if section.key is None:
            raise ConfigurationError(
                "DASAN_SEOUL_OPENAPI__KEY is not set; the Seoul Open API needs an API key"
            )
        return SeoulOpenApiConnector(
            service,
            key=section.key.get_secret_value(),
            client=self._http,
            base_url=section.base_url,
            page_size=section.page_size,
        )
