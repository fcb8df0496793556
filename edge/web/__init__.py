"""``moodcast web``: the page on the device (a subscriber of the daemon's topics, its store, the HTTP side)."""
