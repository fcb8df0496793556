"""The example device configuration and the training recipes (data)."""
