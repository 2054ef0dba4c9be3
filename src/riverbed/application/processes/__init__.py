"""Reactions and process managers: turning events into commands, durably and idempotently.

* :class:`Reaction` + :class:`ReactionHandler`: an event becomes zero or more commands, sent with ids derived
  from the event, so a redelivered event sends the same ids and the owners run nothing twice.
* :class:`ProcessManager` + :class:`ProcessHost`: a saga as a pure state machine, hosted event-sourced (one
  transition event per handled message) with durable timers; the runtime's ``ProcessDispatcher`` sends the
  recorded commands and fires the timers.
* :class:`CommandSender` / :class:`CommandRouter`: how both reach the owners of their commands.
* :class:`ProcessEndpoint`: a process host as a command endpoint (its start commands).
"""

from riverbed.application.processes.endpoint import ProcessEndpoint
from riverbed.application.processes.fold import PendingTimer, ProcessFold
from riverbed.application.processes.host import ProcessHost, Step
from riverbed.application.processes.manager import ProcessManager
from riverbed.application.processes.reaction import Reaction, ReactionHandler
from riverbed.application.processes.records import TRANSITION_TYPE, TransitionRecord
from riverbed.application.processes.sender import CommandRouter, CommandSender

__all__ = [
    "TRANSITION_TYPE",
    "CommandRouter",
    "CommandSender",
    "PendingTimer",
    "ProcessEndpoint",
    "ProcessFold",
    "ProcessHost",
    "ProcessManager",
    "Reaction",
    "ReactionHandler",
    "Step",
    "TransitionRecord",
]
