"""The learned preferences: the bandit's decisions, the recommender using them, the file they are
kept in (corrupt, unwritable, a writer killed with SIGKILL mid-write), and the daemon applying
feedback in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from moodcast.edge.config import load
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.mood.preferences import Feedback, LearnOptions, PreferenceFile, Preferences
from moodcast.edge.mood.recommend import DEFAULT_GENRES, GenreRecommender, RecommendOptions
from moodcast.edge.mood.scene import CIRCUMPLEX, Scene
from moodcast.edge.service.contract import parse_feedback

ANGRY_METAL_SKIP = Feedback("skipped", "angry", "metal")


def scene(emotion: str, valence: float | None = None, arousal: float = 0.0) -> Scene:
    v, a = CIRCUMPLEX[emotion]
    return Scene(emotion, 0.9, np.zeros(len(EMOTIONS), np.float32), v if valence is None else valence, a, 1, False)


def learner(**learn) -> Preferences:
    return Preferences(RecommendOptions(), LearnOptions(**learn))


def skips_to_move(preferences: Preferences, emotion: str, genre: str) -> int:
    for n in range(1, 100):
        preferences.update(Feedback("skipped", emotion, genre))
        if preferences.choose(emotion) != genre:
            return n
    raise AssertionError("never moved")


def test_without_feedback_the_table_decides_both_strategies():
    table = GenreRecommender(RecommendOptions(strategy="uplift"))
    learned = GenreRecommender(RecommendOptions(strategy="uplift"))
    learned.preferences = learner()
    for emotion in EMOTIONS:
        assert learned.preferences.choose(emotion) == RecommendOptions().match[emotion]
    for emotion in EMOTIONS:  # an uplift session of each emotion, every step
        for ts in range(0, 1200, 60):
            assert learned.recommend(scene(emotion), ts) == table.recommend(scene(emotion), ts), (emotion, ts)


def test_skips_of_metal_while_angry_move_the_recommendation_and_plays_bring_it_back():
    preferences = learner()
    assert skips_to_move(preferences, "angry", "metal") == 4  # with learn.prior = 4 (docs/play.md)
    moved = preferences.choose("angry")
    assert moved in preferences.candidates["angry"] and moved != "metal"
    recommender = GenreRecommender()
    recommender.preferences = preferences
    assert recommender.recommend(scene("angry"), 0).genre == moved
    assert recommender.recommend(scene("happy"), 0).genre == "pop"  # other emotions untouched
    for _ in range(3):
        preferences.update(Feedback("played", "angry", "metal"))
        preferences.update(Feedback("skipped", "angry", moved))
    assert preferences.choose("angry") == "metal"
    assert learner(prior=8, max_count=50).choose("angry") == "metal"
    assert skips_to_move(learner(prior=8), "angry", "metal") == 8  # the prior is the knob


def test_a_dislike_counts_as_button_weight_skips():
    preferences = learner()
    preferences.update(Feedback("disliked", "angry", "metal"))
    preferences.update(Feedback("disliked", "angry", "metal"))
    assert preferences.choose("angry") != "metal"


def test_uplift_avoids_what_was_skipped_along_its_path():
    def path(recommender):
        return [recommender.recommend(scene("sad"), ts).genre for ts in range(0, 1200, 120)]

    def learned(weight: float) -> GenreRecommender:
        recommender = GenreRecommender(RecommendOptions(strategy="uplift"))
        recommender.preferences = learner(uplift_weight=weight)
        for _ in range(6):
            recommender.preferences.update(Feedback("skipped", "sad", "blues"))
        return recommender

    before = path(GenreRecommender(RecommendOptions(strategy="uplift")))
    start_only, after = path(learned(0.0)), path(learned(0.5))
    # The start is the learned genre; on the path, blues is weighed against what was skipped.
    assert before[0] == "blues" and after[0] == start_only[0] == learned(0.5).preferences.choose("sad") != "blues"
    assert after.count("blues") < start_only.count("blues") < before.count("blues"), (before, start_only, after)


def test_counts_stay_bounded_under_a_flood():
    preferences = learner(max_count=20)
    for i in range(10_000):
        preferences.update(Feedback("played" if i % 3 else "skipped", "happy", "pop"))
    a, b = preferences.counts["happy"]["pop"]
    assert a + b <= 20 + 2 and preferences.choose("happy") == "pop"


@pytest.mark.parametrize(
    "payload, words",
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "expected an object"),
        (b'{"outcome": "loved"}', "outcome: must be one of"),
        (b'{"outcome": "played", "genre": 5}', "genre: expected a string"),
        (b'{"outcome": "played", "emotion": "x"' + b" " * 300 + b"}", "payload too long"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_malformed_feedback_is_refused_with_a_reason(payload, words):
    with pytest.raises(ValueError, match=words):
        parse_feedback(payload)


@pytest.mark.parametrize("feedback", [Feedback("played", "bored", "pop"), Feedback("played", "happy", "polka")])
def test_feedback_the_model_cannot_place_is_refused(feedback):
    with pytest.raises(ValueError):
        learner().update(feedback)


def test_feedback_on_a_genre_uplift_passes_through_is_learned_but_not_a_candidate():
    """Uplift plays genres outside the emotion's candidates on its way to the goal (indie, soul, funk for sad);
    the player's skips of them weigh in uplift's next choice, and the mood's own genre is still
    chosen among its candidates."""
    preferences = learner()
    assert "indie" not in preferences.candidates["sad"]
    for _ in range(2):
        preferences.update(Feedback("skipped", "sad", "indie"))
    assert preferences.counts["sad"]["indie"] == [1.0, 3.0] and preferences.dislike("sad", "indie") > 0
    assert preferences.as_dict()["emotions"]["sad"]["genres"]["indie"]["score"] == 0.25
    for _ in range(5):
        preferences.update(Feedback("liked", "sad", "indie"))
    assert preferences.choose("sad") == "blues"  # liked, but not one of sad's candidates

    def path(recommender: GenreRecommender) -> list[str]:
        return [recommender.recommend(scene("sad"), ts).genre for ts in range(0, 1200, 120)]

    table = GenreRecommender(RecommendOptions(strategy="uplift"))
    before = path(table)
    assert "indie" in before  # the table's uplift path from sad passes through indie
    recommender = GenreRecommender(RecommendOptions(strategy="uplift"))
    recommender.preferences = learner()
    for _ in range(6):
        recommender.preferences.update(Feedback("skipped", "sad", "indie"))
    after = path(recommender)
    assert after.count("indie") < before.count("indie"), (before, after)


def test_feedback_outside_the_candidates_survives_the_file(tmp_path):
    path = tmp_path / "preferences.json"
    preferences = learner()
    preferences.update(Feedback("skipped", "sad", "jazz"))
    assert PreferenceFile(path).save(preferences)
    again = learner()
    PreferenceFile(path).load(again)
    assert again.counts == preferences.counts and again.counts["sad"]["jazz"] == [1.0, 2.0]
    no_jazz = {g: c for g, c in DEFAULT_GENRES.items() if g != "jazz"}
    fewer = Preferences(RecommendOptions(genres=no_jazz), LearnOptions())
    PreferenceFile(path).load(fewer)  # jazz is no longer a genre: its pair is left out, the rest kept
    assert "jazz" not in fewer.counts["sad"] and fewer.updates == 1


def test_a_lower_max_count_fades_the_file_instead_of_resetting_it(tmp_path, caplog):
    """Lowering learn.max_count scales each pair down to it, as learning does: the evidence (and so
    the choice) is kept, and the file is not taken for a corrupt one."""
    path = tmp_path / "preferences.json"
    preferences = learner(max_count=50)
    for _ in range(40):
        preferences.update(Feedback("played", "angry", "punk"))
    for _ in range(30):
        preferences.update(ANGRY_METAL_SKIP)
    assert PreferenceFile(path).save(preferences)
    lower = learner(max_count=10)
    PreferenceFile(path).load(lower)
    assert "corrupt" not in caplog.text and not path.with_name(path.name + ".corrupt").exists()
    assert lower.updates == 70 and lower.choose("angry") == preferences.choose("angry") == "punk"
    for genre in ("punk", "metal"):
        a, b = lower.counts["angry"][genre]
        assert a + b == pytest.approx(10) and a / (a + b) == pytest.approx(preferences.mean("angry", genre))


def test_the_file_round_trips_and_a_corrupt_one_is_reported_and_reset(tmp_path, caplog):
    path = tmp_path / "state" / "preferences.json"
    preferences = learner()
    for _ in range(5):
        preferences.update(ANGRY_METAL_SKIP)
    assert PreferenceFile(path).save(preferences)
    again = learner()
    PreferenceFile(path).load(again)
    assert again.counts == preferences.counts and again.choose("angry") != "metal" and again.updates == 5
    for text in (
        "{not json",
        '{"version": 1, "emotions": {"angry": {"genres": {"metal": {"a": -1, "b": 1}}}}}',
        '{"version": 1, "emotions": {"angry": {"genres": {"metal": {"a": 1e999, "b": 1}}}}}',  # inf
        '{"version": 1, "emotions": {"angry": {"genres": {"metal": {"a": NaN, "b": 1}}}}}',
        "[]",
        "",
        '{"version": 1, "emotions": ' + "[" * 5000,  # too deep for json: RecursionError
        '{"version": 1, "emotions": {}, "updates": 1e999}',  # int(inf): OverflowError
        '{"version": 1, "emotions": {}, "updates": -3}',  # .../preferences says updates >= 0
    ):
        path.write_text(text)
        fresh = learner()
        PreferenceFile(path).load(fresh)
        assert fresh.choose("angry") == "metal" and fresh.updates == 0
        assert "is corrupt" in caplog.text and (tmp_path / "state" / "preferences.json.corrupt").exists()
        assert not path.exists()  # moved aside: the next save writes a fresh one


def test_an_unwritable_folder_keeps_the_preferences_in_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert not PreferenceFile(blocker / "sub" / "preferences.json").save(learner())


WRITER = """
import sys
from pathlib import Path
from moodcast.edge.mood.preferences import Feedback, LearnOptions, PreferenceFile, Preferences
from moodcast.edge.mood.recommend import RecommendOptions
p = Preferences(RecommendOptions(), LearnOptions(max_count=10**6, prior=4))
f = PreferenceFile(Path(sys.argv[1]))
print("ready", flush=True)
while True:
    p.update(Feedback("played", "happy", "pop"))
    f.save(p)
"""


def test_kill_9_during_writes_leaves_a_whole_file(tmp_path):
    """A writer saving as fast as it can is killed 8 times at random points; every time the file
    is a whole one (the previous or the new version) and the temp files are cleaned up."""
    path = tmp_path / "preferences.json"
    rng = np.random.default_rng(0)
    seen = []
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.3)))  # a random point in the write loop, not a wait
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        restored = Preferences(RecommendOptions(), LearnOptions(max_count=10**6))
        PreferenceFile(path).load(restored)
        assert not (tmp_path / "preferences.json.corrupt").exists()
        assert restored.updates > 0 and json.loads(path.read_text())["updates"] == restored.updates
        assert not list(tmp_path.glob(".preferences.json.*"))
        seen.append(restored.updates)
    assert len(set(seen)) > 1


def test_the_example_learn_section_loads():
    assert load(environ={}).learn == LearnOptions()


def test_the_tests_never_read_or_write_the_users_preferences():
    """A daemon a test starts without learn.file keeps its preferences under the test's own state
    folder (conftest), never in ~/.local/state/moodcast where a user's learned genres would change
    what the tests expect."""
    path = LearnOptions().path()
    assert Path.home() / ".local" not in path.parents, path
