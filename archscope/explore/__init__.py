"""Many analyses at once: `compare`, design-space sweeps (grids, sweep files, compound scaling)."""
