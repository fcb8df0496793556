"""From faces to music: the scene's mood, the genre recommender and the learned preferences."""
