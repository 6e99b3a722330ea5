"""A set of ids held as 64-bit hashes in one flat array: about 16 bytes per id.

A batch of a million rows must not hold a million Python strings to find duplicate
`custom_id`s or rows already answered. Two different ids share a hash with odds of
about n^2 / 2^65 (1 in 37 million for a million rows); a clash makes a row look like a
duplicate (reported, never silent).
"""

from __future__ import annotations

from array import array
from hashlib import blake2b

_EMPTY = 0


def id_hash(key: str) -> int:
    """The id's 64-bit hash; never 0 (0 marks an empty slot)."""
    digest = blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1


class IdSet:
    """Strings added and tested by hash, with open addressing in an `array("Q")`."""

    def __init__(self) -> None:
        """Start empty, with room for a few hundred ids."""
        self._slots = array("Q", bytes(8 * 1024))
        self._count = 0

    def __len__(self) -> int:
        """How many ids were added."""
        return self._count

    def __contains__(self, key: object) -> bool:
        """Whether `key` (a string) was added."""
        if not isinstance(key, str):
            return False
        slots, mask, wanted = self._slots, len(self._slots) - 1, id_hash(key)
        index = wanted & mask
        while (value := slots[index]) != _EMPTY:
            if value == wanted:
                return True
            index = (index + 1) & mask
        return False

    def add(self, key: str) -> bool:
        """Add `key`; True when it was new, False when it was already there."""
        if (self._count + 1) * 10 > len(self._slots) * 7:
            self._grow()
        return self._insert(id_hash(key))

    def _insert(self, wanted: int) -> bool:
        slots, mask = self._slots, len(self._slots) - 1
        index = wanted & mask
        while (value := slots[index]) != _EMPTY:
            if value == wanted:
                return False
            index = (index + 1) & mask
        slots[index] = wanted
        self._count += 1
        return True

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._count = 0
        for value in old:
            if value != _EMPTY:
                self._insert(value)
