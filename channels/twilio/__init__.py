"""Twilio Programmable Voice: inbound calls answered in Korean through the dialogue manager."""

from channels.twilio.call_state import CallState, CallStateStore, InMemoryCallStateStore
from channels.twilio.config import TwilioChannelConfig, resolve_auth_token
from channels.twilio.emergency import EmergencyDetector, SafetyGuidanceDetector
from channels.twilio.outcomes import CallOutcome, CallOutcomeSink
from channels.twilio.prompts import VoicePrompts
from channels.twilio.router import build_twilio_router
from channels.twilio.sms import SmsSender, TwilioSmsSender
from channels.twilio.tasks import CallTasks

__all__ = [
    "CallOutcome",
    "CallOutcomeSink",
    "CallState",
    "CallStateStore",
    "CallTasks",
    "EmergencyDetector",
    "InMemoryCallStateStore",
    "SafetyGuidanceDetector",
    "SmsSender",
    "TwilioChannelConfig",
    "TwilioSmsSender",
    "VoicePrompts",
    "build_twilio_router",
    "resolve_auth_token",
]
