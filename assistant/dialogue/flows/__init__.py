"""Flows: YAML-declared dialogues (slots, confirmation, actions) run by a deterministic executor.

The split follows Rasa CALM: a command source (rules now, an LLM later) turns the citizen's text
into commands (``StartFlow``, ``SetSlot``, ``Correct``, ``Cancel``, ``Handoff``, ``Digress``…); the
``FlowMachine`` applies them to a ``FlowState`` as a pure function and the ``FlowExecutor`` runs the
named actions (in process, or on a rasa-sdk action server) between its steps.
"""
