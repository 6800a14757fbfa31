"""storage_errors: turn SQLAlchemy and driver failures into ``StorageError`` without quoting any value."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from assistant.core.errors import StorageError


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Translate failures of the SQL adapters (accounts, logins, feedback, case records).

    Messages name only the exception types: a database's own message can quote the row it refused
    (PostgreSQL's "Key (name)=(…) already exists"), and these tables hold contacts and password hashes.
    ``IntegrityError`` passes through untouched so callers can map it to their own error (name taken).
    """
    try:
        yield
    except IntegrityError:
        raise
    except OperationalError as exc:
        raise StorageError(
            f"{what}: database unavailable ({type(exc.orig).__name__})", retryable=True
        ) from exc
    except OSError as exc:  # asyncpg's connect errors are not wrapped by SQLAlchemy
        raise StorageError(f"{what}: database unavailable ({type(exc).__name__})", retryable=True) from exc
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        detail = f"{type(exc).__name__}/{type(orig).__name__}" if orig is not None else type(exc).__name__
        raise StorageError(f"{what}: database failed ({detail})") from exc
