"""LabelHub: an open image-labelling platform and data market."""
