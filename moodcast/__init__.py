"""The ``moodcast`` command: one entry point over the device (``edge``), measuring (``evaluation``)
and workstation (``training``, ``convert``) code; see moodcast.cli."""
