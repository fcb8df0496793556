"""Workstation side: FER2013 readers, the emotion model, training and evaluation."""
