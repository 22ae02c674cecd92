"""The runtime: load a model, replace its head, freeze and unfreeze, fine-tune, checkpoint."""
