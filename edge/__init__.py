"""moodcast on the device: frames in, faces, emotions and a genre out. Never imports TensorFlow."""
