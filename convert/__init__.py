"""Workstation side: produce the quantized TFLite files the device runs, and check them."""
