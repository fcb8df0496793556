"""``moodcast play``: follows the daemon's ``.../state`` and plays the genre on MPD."""
