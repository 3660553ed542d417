"""Generated display names: ``adjective-noun-N``."""

from __future__ import annotations

import random

ADJECTIVES = (
    "amber", "ancient", "autumn", "bold", "brave", "bright", "calm", "clever", "cosmic", "crimson",
    "curious", "daring", "dazzling", "eager", "electric", "fancy", "fearless", "fiery", "gentle",
    "golden", "graceful", "happy", "hardy", "honest", "icy", "jolly", "lively", "lucky", "misty",
    "noble", "olive", "patient", "polished", "proud", "quiet", "rapid", "restful", "rosy",
    "silver", "snowy", "solar", "spring", "stellar", "sunny", "swift", "tidy", "vivid", "wild",
)
NOUNS = (
    "aurora", "bird", "breeze", "brook", "butterfly", "canyon", "cloud", "comet", "dawn", "dew",
    "dream", "dust", "feather", "field", "firefly", "flower", "forest", "frost", "galaxy", "glade",
    "grass", "haze", "hill", "lake", "leaf", "meadow", "moon", "mountain", "night", "ocean",
    "pine", "planet", "pond", "rain", "resonance", "river", "sea", "shadow", "sky", "smoke",
    "snow", "star", "sun", "sunset", "thunder", "tree", "valley", "wave", "wind", "wood",
)


def generate_name(n: int, rng: random.Random | None = None) -> str:
    """A name for the ``n``-th run of a project."""
    r = rng or random
    return f"{r.choice(ADJECTIVES)}-{r.choice(NOUNS)}-{n}"
