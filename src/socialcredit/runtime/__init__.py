"""The running registry, shared by every capability: the :class:`Registry` (settings, the
store's engine, the rule pack and the calendar, wired once by :func:`open_registry`), the web
dependencies routes take (``deps``) and the helpers every command module uses (``console``).

It sits between the capabilities and the store: capabilities import it, it imports none of them.
"""

from socialcredit.runtime.registry import Registry, open_registry

__all__ = ["Registry", "open_registry"]
