"""Results files -> HTML report; baseline comparison (the upgrade gate). Reads result files only."""
