"""Vendor-free pieces both index adapters share: names, build ids, version records, query plans."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from assistant.core.errors import ConfigurationError, RetrievalError
from assistant.retrieval.ports import IndexQuery, IndexSpec, IndexStatus

UPSERT_BATCH = 256
"""Points per engine call: large enough to amortise the call, small enough to stay responsive."""

_COLLECTION = re.compile(r"^[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*$")
_BUILD_ID = re.compile(r"^(\d{8}T\d{12})Z-[0-9a-f]{8}$")
_STAMP = "%Y%m%dT%H%M%S%f"

QueryPlan = Literal["hybrid", "dense", "sparse", "empty"]


def checked_collection(name: str) -> str:
    """A collection name is a directory name and a server alias: letters, digits, ``_``, single ``-``."""
    if len(name) > 64 or not _COLLECTION.match(name):
        raise ConfigurationError(
            f"invalid collection name {name!r}: use letters, digits, '_' and single '-' (at most 64)"
        )
    return name


def is_build_id(value: str) -> bool:
    return _BUILD_ID.match(value) is not None


def new_build_id(now: datetime, existing: Iterable[str]) -> str:
    """A UTC timestamp plus a random suffix, strictly after every existing build id.

    Ids sort by age, so "older than the previous build" is a string comparison. A clock that
    stands still (tests) or steps back (NTP) still yields a later id.
    """
    stamp = now.astimezone(UTC).replace(tzinfo=None)
    stamps = [_stamp_of(b) for b in existing if is_build_id(b)]
    if stamps and max(stamps) >= stamp:
        stamp = max(stamps) + timedelta(microseconds=1)
    return f"{stamp.strftime(_STAMP)}Z-{secrets.token_hex(4)}"


def _stamp_of(build_id: str) -> datetime:
    match = _BUILD_ID.match(build_id)
    assert match is not None
    return datetime.strptime(match.group(1), _STAMP)


def stale_builds(build_ids: Iterable[str], keep: Iterable[str]) -> list[str]:
    """Builds older than every kept one (the live and the previous build).

    Newer builds are left alone: another process may be filling one right now.
    """
    kept = set(keep)
    floor = min(kept)
    return sorted(b for b in build_ids if is_build_id(b) and b < floor and b not in kept)


def status_record(status: IndexStatus) -> dict[str, Any]:
    """The JSON form of a version, as CURRENT.json and server collection metadata store it."""
    return {
        "collection": status.collection,
        "build_id": status.build_id,
        "points": status.points,
        "embedding_model": status.embedding_model,
        "dense_dim": status.dense_dim,
        "sparse_encoder": status.sparse_encoder,
        "built_at": status.built_at.isoformat() if status.built_at else None,
        "metadata": dict(status.metadata),
    }


def status_from_record(record: Mapping[str, Any]) -> IndexStatus:
    try:
        built_at = record.get("built_at")
        dense_dim = record.get("dense_dim")
        return IndexStatus(
            collection=str(record["collection"]),
            build_id=str(record["build_id"]),
            points=int(record.get("points") or 0),
            embedding_model=record.get("embedding_model"),
            dense_dim=int(dense_dim) if dense_dim is not None else None,
            sparse_encoder=str(record["sparse_encoder"]),
            built_at=datetime.fromisoformat(built_at) if built_at else None,
            metadata={str(k): str(v) for k, v in (record.get("metadata") or {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RetrievalError(f"unreadable index version record: {exc}") from exc


def pending_status(spec: IndexSpec, build_id: str, metadata: Mapping[str, str]) -> IndexStatus:
    """The record of a build before it is committed: no points counted, no built_at."""
    return IndexStatus(
        collection=spec.collection,
        build_id=build_id,
        points=0,
        embedding_model=spec.embedding_model,
        dense_dim=spec.dense_dim if spec.embedding_model is not None else None,
        sparse_encoder=spec.sparse_encoder,
        built_at=None,
        metadata=dict(metadata),
    )


def dense_dim_of(spec: IndexSpec) -> int | None:
    """The dense vector size, or None for a lexical-only index; a dense index needs a size."""
    if spec.embedding_model is None:
        return None
    if spec.dense_dim is None or spec.dense_dim <= 0:
        raise ConfigurationError(f"collection {spec.collection}: a dense index needs a positive dense_dim")
    return spec.dense_dim


def plan_query(query: IndexQuery, has_dense: bool) -> QueryPlan:
    """Which vectors a search uses. A dense vector against a lexical-only index is ignored."""
    dense = query.dense is not None and has_dense
    sparse = query.sparse is not None and len(query.sparse.indices) > 0
    if dense and sparse:
        return "hybrid"
    if dense:
        return "dense"
    if sparse:
        return "sparse"
    return "empty"


def not_built(collection: str) -> RetrievalError:
    return RetrievalError(f"collection {collection} has not been built; run dasan ingest")
