"""moodcast on the device: frames in, faces, emotions and a genre out. Never imports TensorFlow."""

__version__ = "0.1.0"
