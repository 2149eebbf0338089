"""The base of the API's response models (each capability's ``schemas.py`` builds on it).

A response model names and types the fields a client may rely on; the rest of an answer
(a subject's file, a report's tables) is documented in the route and passed through
unchanged (``extra="allow"``), so documenting an answer never drops a field from it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")
