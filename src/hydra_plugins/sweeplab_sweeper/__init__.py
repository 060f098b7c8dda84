"""sweeplab's Hydra sweeper: the basic sweeper plus sweep resume (see sweeper.py)."""
