"""Builds the dialogue manager and its session store from settings (the composition root's part for it)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.app.settings import Settings
from assistant.core.clock import Clock
from assistant.dialogue.manager import CivicDialogueManager, DialoguePolicy
from assistant.dialogue.manager_ports import Answerer, FlowPort, TurnObserver
from assistant.dialogue.pii import PiiRedactor
from assistant.dialogue.safety import InjectionGuard, SafetyRules, SafetyScreen
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from assistant.sessions.memory_store import InMemorySessionStore
from assistant.sessions.ports import LiveSessionStore, SessionStore
from assistant.sessions.sql_store import SqlConversationStore
from assistant.sessions.write_behind import WriteBehindSessionStore
from assistant.tracing.ports import Tracer


async def build_session_store(
    settings: Settings, clock: Clock, engine: AsyncEngine, stack: AsyncExitStack
) -> SessionStore:
    """Live sessions (Redis when ``DASAN_REDIS__URL`` is set, else in process) written behind to the
    durable SQL records on ``engine`` (migrated by ``open_database``; disposed of after this store)."""
    durable = SqlConversationStore(engine, clock=clock)
    live: LiveSessionStore
    redis_url = settings.redis.url
    if redis_url is None:
        live = InMemorySessionStore(clock=clock)
    else:
        from redis.asyncio import Redis

        from assistant.sessions.redis_store import RedisSessionStore

        client = Redis.from_url(redis_url.get_secret_value())
        stack.push_async_callback(client.aclose)
        live = RedisSessionStore(
            client, prefix=settings.redis.prefix, ttl=settings.redis.session_ttl, clock=clock
        )
    store = WriteBehindSessionStore(live, durable, writers=1 if engine.dialect.name == "sqlite" else 4)
    stack.push_async_callback(store.aclose)  # runs before the engine is disposed: drains the writes
    return store


async def build_flows(
    redactor: PiiRedactor, clock: Clock, sample_dir: Path, database: AsyncEngine
) -> FlowPort:
    """The shipped flows with their in-process actions, priced from the bundled demo fee table.

    Bookings and complaints go to the service database (``case_records``), numbered by its counters,
    so references stay unique across restarts and workers."""
    from assistant.dialogue.flow_bridge import ExecutorFlows
    from assistant.dialogue.flows.actions import ActionRegistry
    from assistant.dialogue.flows.civic_actions import civic_actions
    from assistant.dialogue.flows.executor import FlowExecutor
    from assistant.dialogue.flows.fees import FeeTable
    from assistant.dialogue.flows.loader import load_flows
    from assistant.dialogue.flows.parser import RuleCommandParser
    from assistant.dialogue.flows.sql_records import SqlCaseRecordStore, SqlReferenceGenerator
    from assistant.dialogue.flows.validators import SlotValidators
    from connectors.folder import FolderConnector
    from connectors.table_mapping import load_table_mappings

    mappings = load_table_mappings(sample_dir / "mapping.yaml")
    fees = await FeeTable.from_connector(
        FolderConnector(sample_dir / "bulky_waste_fees_demo.csv", mappings=mappings)
    )
    catalog = load_flows()
    validators = SlotValidators(clock=clock, pii=redactor, items=fees)
    records, references = SqlCaseRecordStore(database), SqlReferenceGenerator(database)
    actions = ActionRegistry(civic_actions(fees, records, references, clock))
    executor = FlowExecutor(catalog, validators, actions)
    return ExecutorFlows(RuleCommandParser(catalog, validators), executor)


async def build_dialogue(
    settings: Settings,
    *,
    sessions: SessionStore,
    database: AsyncEngine,
    answers: Answerer,
    clock: Clock,
    sample_dir: Path,
    observer: TurnObserver | None = None,
    tracer: Tracer | None = None,
) -> CivicDialogueManager:
    rulebook = load_safety_rulebook(settings.safety.rules_path)
    redactor = PiiRedactor()
    section = settings.dialogue
    return CivicDialogueManager(
        sessions=sessions,
        safety=SafetyScreen(SafetyRules(rulebook), InjectionGuard(rulebook)),
        redactor=redactor,
        answers=answers,
        clock=clock,
        flows=await build_flows(redactor, clock, sample_dir, database) if section.flows else None,
        policy=DialoguePolicy(
            handoff_after_failures=section.handoff_after_failures, history_turns=section.history_turns
        ),
        observer=observer,
        tracer=tracer,
    )
