"""Answer stage: turn retrieved knowledge into a cited reply."""
