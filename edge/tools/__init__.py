"""Tools for the person at the device: doctor, bench, annotated pictures."""
