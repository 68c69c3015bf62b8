"""Switching from the published peer (tap-intercom 2.2.5): its catalog and state mapped onto ours.
Imports errors, config and records only."""
