"""The sample picture and clip the defaults run on (data)."""
