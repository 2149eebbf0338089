"""Persistence: tables, Alembic migrations, repositories and the unit of work."""

from socialcredit.store.db import make_engine, migrate
from socialcredit.store.ports import UnitOfWork
from socialcredit.store.sql import SqlUnitOfWork

__all__ = ["SqlUnitOfWork", "UnitOfWork", "make_engine", "migrate"]
