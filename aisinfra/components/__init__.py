"""Component resources, one per layer of an AIStore cluster, and the cluster that owns them."""
