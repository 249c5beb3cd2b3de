"""Guards around the chain: input checks, scope, numbers, conflicts."""
