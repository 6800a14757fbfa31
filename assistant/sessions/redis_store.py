"""RedisSessionStore: live sessions shared by every worker; each append is one atomic Lua script."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from assistant.core.clock import Clock
from assistant.core.errors import ConversationConflict, StorageError
from assistant.core.events import ConversationKey
from assistant.sessions import redis_scripts
from assistant.sessions.codec import (
    decode_event,
    decode_state,
    encode_event,
    key_text,
    micros,
    parse_key,
    parse_status,
    parse_time,
    time_text,
)
from assistant.sessions.conversation import (
    AppendResult,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    ConversationSummary,
    NewEvent,
    check_append,
    dump_json,
    json_object,
    last_text_of,
)

_PURGE_BATCH = 500


class RedisSessionStore:
    """Conversations in Redis under ``prefix``: a meta hash, an events list and a message-id set each, plus
    two sorted sets (all by ``updated_at``, and those not closed) for ``purge`` and ``list_active``.

    A conversation's keys expire ``ttl`` after its last append (idle sessions); index entries of expired
    conversations are dropped lazily. The scripts touch the shared sorted sets, so this targets one Redis
    server (or a primary), not Redis Cluster.
    """

    def __init__(self, redis: Redis, *, prefix: str, ttl: timedelta | None, clock: Clock) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_ms = int(ttl.total_seconds() * 1000) if ttl else 0
        self._clock = clock
        self._load = redis.register_script(redis_scripts.LOAD)
        self._append = redis.register_script(redis_scripts.APPEND)
        self._restore = redis.register_script(redis_scripts.RESTORE)
        self._purge_one = redis.register_script(redis_scripts.PURGE_ONE)
        self._forget = redis.register_script(redis_scripts.FORGET)

    async def load(self, key: ConversationKey) -> Conversation:
        with _redis_errors():
            reply = await self._load(keys=self._keys(key_text(key)))
        return _conversation(key, reply)

    async def append(
        self,
        key: ConversationKey,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        state: Mapping[str, Any] | None = None,
        status: ConversationStatus | None = None,
    ) -> AppendResult:
        check_append(events, state, status)
        now = self._clock.now()
        member = key_text(key)
        text = last_text_of(events)
        args: list[str | int] = [
            expected_version,
            self._ttl_ms,
            time_text(now),
            micros(now),
            member,
            status or "",
            dump_json(json_object(state, "state")) if state is not None else "",
            "1" if text is not None else "0",
            text or "",
            key.channel,
            key.thread,
            len(events),
        ]
        for event in events:
            args += [event.message_id or "", _encode_new(key, event)]
        with _redis_errors():
            reply = await self._append(keys=self._keys(member), args=args)
        tag = _text(reply[0])
        if tag == "conflict":
            raise ConversationConflict(
                f"{key.channel} conversation is at version {reply[1]}, not the expected {expected_version}"
            )
        return AppendResult(_conversation(key, reply), duplicate=tag == "duplicate")

    async def restore(self, conversation: Conversation) -> Conversation:
        updated_at = conversation.updated_at
        if conversation.version == 0 or updated_at is None:
            return await self.load(conversation.key)
        member = key_text(conversation.key)
        meta: dict[str, str | int] = {
            "version": conversation.version,
            "updated_at": time_text(updated_at),
            "status": conversation.status,
            "state": dump_json(conversation.state),
            "channel": conversation.key.channel,
            "thread": conversation.key.thread,
        }
        if (text := conversation.last_text) is not None:
            meta["last_text"] = text
        args: list[str | int] = [self._ttl_ms, micros(updated_at), member, len(meta)]
        for field, value in meta.items():
            args += [field, value]
        for event in conversation.events:
            args += [event.message_id or "", encode_event(event)]
        with _redis_errors():
            reply = await self._restore(keys=self._keys(member), args=args)
        return _conversation(conversation.key, reply)

    async def list_active(self, limit: int) -> list[ConversationSummary]:
        summaries: list[ConversationSummary] = []
        start = 0
        with _redis_errors():
            while len(summaries) < limit:
                members = [
                    _text(m)
                    for m in await self._redis.zrevrange(
                        self._active, start, start + limit - len(summaries) - 1
                    )
                ]
                if not members:
                    break
                pipe = self._redis.pipeline(transaction=False)
                for member in members:
                    pipe.hmget(self._meta(member), ["status", "version", "last_text", "updated_at"])
                rows = await pipe.execute()
                expired = []
                for member, (status, version, last_text, updated_at) in zip(members, rows, strict=True):
                    if version is None:
                        expired.append(member)
                        continue
                    summaries.append(
                        ConversationSummary(
                            key=parse_key(member),
                            status=parse_status(_text(status)),
                            version=int(version),
                            last_text=_text(last_text) if last_text is not None else None,
                            updated_at=parse_time(_text(updated_at)),
                        )
                    )
                forgotten = 0
                for member in expired:
                    forgotten += int(await self._forget(keys=self._keys(member), args=[member]))
                start += len(members) - forgotten
        return summaries

    async def purge(self, older_than: datetime) -> int:
        cutoff = micros(older_than)
        purged = 0
        with _redis_errors():
            while True:
                members = [
                    _text(m)
                    for m in await self._redis.zrangebyscore(
                        self._updated, "-inf", f"({cutoff}", start=0, num=_PURGE_BATCH
                    )
                ]
                if not members:
                    return purged
                pipe = self._redis.pipeline(transaction=False)
                for member in members:
                    await self._purge_one(keys=self._keys(member), args=[cutoff, member], client=pipe)
                purged += sum(int(n) for n in await pipe.execute())

    @property
    def _updated(self) -> str:
        return f"{self._prefix}updated"

    @property
    def _active(self) -> str:
        return f"{self._prefix}active"

    def _meta(self, member: str) -> str:
        return f"{self._prefix}meta:{member}"

    def _keys(self, member: str) -> list[str]:
        return [
            self._meta(member),
            f"{self._prefix}events:{member}",
            f"{self._prefix}ids:{member}",
            self._updated,
            self._active,
        ]


def _encode_new(key: ConversationKey, event: NewEvent) -> str:
    return encode_event(
        ConversationEvent(
            key=key,
            seq=0,
            kind=event.kind,
            message_id=event.message_id,
            at=event.at,
            payload=json_object(event.payload, "event payload"),
        )
    )


def _conversation(key: ConversationKey, reply: list[Any]) -> Conversation:
    """Decode a ``snapshot``: [tag, flat meta hash, event JSON list]."""
    flat = [_text(item) for item in reply[1]]
    if not flat:
        return Conversation.new(key)
    meta = dict(zip(flat[::2], flat[1::2], strict=True))
    return Conversation(
        key=key,
        version=int(meta["version"]),
        events=tuple(decode_event(key, seq, _text(raw)) for seq, raw in enumerate(reply[2], start=1)),
        state=decode_state(meta.get("state", "{}")),
        status=parse_status(meta.get("status", "bot")),
        updated_at=parse_time(meta["updated_at"]),
    )


def _text(value: object) -> str:
    """A reply item as text, whether or not the client decodes responses."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    raise StorageError(f"unexpected redis reply item: {type(value).__name__}")


@contextmanager
def _redis_errors() -> Iterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise StorageError(f"redis unavailable: {type(exc).__name__}", retryable=True) from exc
    except RedisError as exc:
        raise StorageError(f"redis failed: {type(exc).__name__}: {exc}") from exc
