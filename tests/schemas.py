"""Schemas the structured-output tests share."""

from __future__ import annotations

from pydantic import BaseModel
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12


class Person(BaseModel):
    """A person."""

    name: str
    age: int


class PersonDict(TypedDict):
    """A person."""

    name: str
    age: int
