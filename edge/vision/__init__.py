"""Per-frame vision: the TFLite runtime, motion gate, face detectors, tracker and emotion classifier."""
