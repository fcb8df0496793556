"""The emotion classifier: a small VGG-style network that quantizes cleanly to int8.

Only ops that full-integer TFLite handles well and XNNPACK runs fast on ARM: conv (batch norm
folds into it at conversion), relu, max pooling, mean, dense, softmax. Written against
``keras`` alone, so it trains on the TensorFlow, JAX or PyTorch backend.
"""

from __future__ import annotations

import keras
from keras import layers

from moodcast.edge.labels import EMOTIONS


def build_model(
    image_size: int = 48,
    widths: tuple[int, ...] = (32, 64, 128, 256),
    convs_per_stage: int = 2,
    dense: int = 256,
    dropout: float = 0.4,
) -> keras.Model:
    """Grey ``image_size``² crop with raw 0-255 values in, 7 softmax probabilities out."""
    inputs = keras.Input((image_size, image_size, 1), name="face")
    # Scaling lives in the model so the int8 input is the pixel value minus 128.
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    for stage, width in enumerate(widths):
        for conv in range(convs_per_stage):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"s{stage}_conv{conv}")(x)
            x = layers.BatchNormalization(name=f"s{stage}_bn{conv}")(x)
            x = layers.ReLU(name=f"s{stage}_relu{conv}")(x)
        if stage < len(widths) - 1:
            x = layers.MaxPooling2D(2, name=f"s{stage}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="drop0")(x)
    x = layers.Dense(dense, name="fc")(x)
    x = layers.ReLU(name="fc_relu")(x)
    x = layers.Dropout(dropout, name="drop1")(x)
    outputs = layers.Dense(len(EMOTIONS), activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="moodcast_emotion")
