"""Component tests: each formulation built alone on a few steps, against hand-derived values."""
