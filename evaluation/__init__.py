"""Measuring, shared by the device and the workstation: classification metrics, detection AP, and
the evaluation of a detector or the whole pipeline on labelled data. Imports only ``edge`` and numpy."""
