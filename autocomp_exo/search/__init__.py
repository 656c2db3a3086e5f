"""The beam search of the Autocomp method and the evaluation machinery it runs on."""
