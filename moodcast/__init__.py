"""moodcast: facial expression -> music genre on the device, published over MQTT.

One import package: ``moodcast.edge`` (the device), ``moodcast.evaluation`` (measuring),
``moodcast.training`` and ``moodcast.convert`` (the workstation), and the shipped data
(``moodcast.models``, ``moodcast.samples``, ``moodcast.schemas``, ``moodcast.config``). The
command is ``moodcast.cli``.
"""

from pathlib import Path

# In a source checkout the subpackages are the repository's top-level folders (edge/, training/,
# models/, ...), which setup.cfg's package_dir moves inside this package when it is installed. Here
# they are found beside it, so a checkout imports the same names with or without an install.
_checkout = Path(__file__).resolve().parent.parent
if not (Path(__file__).parent / "edge").is_dir() and (_checkout / "edge" / "__init__.py").is_file():
    __path__.append(str(_checkout))
