"""How guessable a configured secret is: a simple, documented entropy estimate.

A blocklist only catches the placeholders someone thought of; issue #11 found
`changemechangemechangeme`, `REPLACE_ME_WITH_A_RANDOM_VALUE` and 20 spaces accepted. The
estimate, in bits, is

    novel characters × bits per character

- bits per character = min(log2 of the alphabet the character classes used span
  (lowercase 26, uppercase 26, digits 10, ASCII symbols and space 33, anything else 100),
  the Shannon entropy of the secret's own character frequencies). Twenty spaces: 0 bits a
  character; English words in capitals: about 3.8 instead of log2(59) = 5.9.
- novel characters: the length, where a run of 3 or more characters repeating text earlier
  in the secret (LZ77-style, overlaps allowed) counts as one character, so `abcabcabc`
  counts 4, not 9; so does a run of 3 or more consecutive characters (`abcd`, `6789`,
  `cba`).

A value needs at least `MIN_SECRET_BITS` (128) estimated bits and `MIN_DISTINCT_CHARS`
distinct characters. `secrets.token_urlsafe(32)` (43 characters) estimates about 210 bits;
`secrets.token_hex(32)` about 240. This is an upper bound on a secret's real entropy for
random strings and an overestimate for words, so it refuses only what is certainly weak
plus human-made phrases; it is no proof of strength.
"""

from __future__ import annotations

import math
import string
from collections import Counter

MIN_SECRET_BITS = 128.0
MIN_DISTINCT_CHARS = 10
MIN_REPEAT = 3  # shorter repeats occur by chance in random text
MAX_ESTIMATED_CHARS = (
    256  # bounds the quadratic repeat search; longer secrets are judged by their head
)
HOW_TO_MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"

_CLASSES: tuple[tuple[frozenset[str], int], ...] = (
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.digits), 10),
    (frozenset(string.punctuation + " "), 33),
)
_OTHER_POOL = 100


def _pool(secret: str) -> int:
    chars = set(secret)
    size = sum(n for members, n in _CLASSES if chars & members)
    if any(not any(c in members for members, _ in _CLASSES) for c in chars):
        size += _OTHER_POOL
    return size


def _shannon(secret: str) -> float:
    n = len(secret)
    return -sum(k / n * math.log2(k / n) for k in Counter(secret).values())


def _novel_chars(secret: str) -> int:
    """Length with each repeat of earlier text and each run like `abc` or `321`
    (>= MIN_REPEAT chars) counted as one."""
    i, count, n = 0, 0, len(secret)
    while i < n:
        longest = 0
        k = MIN_REPEAT
        # An overlapping match is allowed: "aaaa" is "a" then one repeat.
        while i + k <= n and secret.find(secret[i : i + k], 0, i + k - 1) != -1:
            longest = k
            k += 1
        run = 1  # a keyboard-order run (abc, 123, cba) is as guessable as a repeat
        for step in (1, -1):
            j = i + 1
            while j < n and ord(secret[j]) - ord(secret[j - 1]) == step:
                j += 1
            run = max(run, j - i)
        skip = max(longest, run if run >= MIN_REPEAT else 1)
        count += 1
        i += skip
    return count


def estimated_bits(secret: str) -> float:
    """The module docstring's estimate, in bits (0 for an empty secret)."""
    head = secret[:MAX_ESTIMATED_CHARS]
    if not head:
        return 0.0
    per_char = min(math.log2(_pool(head)), _shannon(head))
    return _novel_chars(head) * per_char


def weakness(secret: str) -> str | None:
    """Why `secret` is too weak to use, or None when it passes."""
    distinct = len(set(secret))
    if distinct < MIN_DISTINCT_CHARS:
        return f"only {distinct} distinct characters (at least {MIN_DISTINCT_CHARS} needed)"
    bits = estimated_bits(secret)
    if bits < MIN_SECRET_BITS:
        return f"about {bits:.0f} bits of estimated entropy (at least {MIN_SECRET_BITS:.0f} needed)"
    return None
