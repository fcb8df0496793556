"""What the daemon did, in a listener's words: why the genre changed, and what it has learned."""

from __future__ import annotations

from moodcast.edge.mood.preferences import LearnOptions


def change_reason(previous: dict | None, state: dict, match: dict[str, str]) -> str:
    """Why ``state``'s genre is not ``previous``'s (two ``.../state`` payloads)."""
    emotion, genre, strategy = str(state.get("emotion")), state.get("genre"), state.get("strategy")
    if not state.get("enabled", True):
        return "analysis paused"
    if not state.get("source_ok", True):
        return "the camera stopped delivering"
    if genre is None:
        return "nobody in view"
    if previous is None or previous.get("genre") is None:
        start = f"a {emotion} face came into view"
    elif previous.get("strategy") != strategy:
        start = f"strategy set to {strategy}"
    elif previous.get("emotion") != emotion:
        start = f"the mood changed from {previous.get('emotion')} to {emotion}"
    else:
        start = f"still {emotion}"
    if strategy == "uplift" and genre != match.get(emotion):
        return f"{start}; uplift plays {genre}, a step towards a brighter mood"
    if genre != match.get(emotion):
        return f"{start}; from your feedback, {emotion} now plays {genre} instead of {match.get(emotion)}"
    return f"{start}, which plays {genre}"


def _times(n: float) -> str:
    n = round(n)
    return "once" if n == 1 else f"{n} times"


def learned(preferences: dict | None, match: dict[str, str], options: LearnOptions) -> list[dict]:
    """Per emotion, from a ``.../preferences`` payload: the genre chosen, a sentence saying why,
    and each candidate with the plays (played, liked) and skips (skipped, disliked) fed back for it
    (liked and disliked count ``learn.button_weight`` each; old evidence fades)."""
    if not preferences:
        return []
    rows = []
    for emotion, entry in sorted(preferences.get("emotions", {}).items()):
        default = match.get(emotion)
        genres = []
        for genre, pair in entry.get("genres", {}).items():
            a0 = options.prior if genre == default else 1.0
            genres.append(
                {
                    "genre": genre,
                    "kept": round(max(0.0, pair["a"] - a0), 1),
                    "skipped": round(max(0.0, pair["b"] - 1.0), 1),
                    "score": pair["score"],
                    "chosen": genre == entry.get("genre"),
                }
            )
        genres.sort(key=lambda g: -g["score"])
        chosen = entry.get("genre")
        skipped_default = next((g["skipped"] for g in genres if g["genre"] == default), 0.0)
        kept_chosen = next((g["kept"] for g in genres if g["genre"] == chosen), 0.0)
        if chosen != default and skipped_default >= 0.5:
            sentence = f"after you skipped {default} {_times(skipped_default)}, {emotion} plays {chosen}"
        elif chosen != default:
            sentence = f"you kept {chosen} on {_times(kept_chosen)} when {emotion}, so {emotion} plays {chosen}"
        elif any(g["kept"] or g["skipped"] for g in genres):
            sentence = f"{emotion} plays {chosen}: your feedback has not changed it"
        else:
            sentence = f"{emotion} plays {chosen} (no feedback yet)"
        rows.append({"emotion": emotion, "genre": chosen, "sentence": sentence, "genres": genres})
    return rows
