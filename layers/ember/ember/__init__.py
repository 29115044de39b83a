"""Ember: educational pari-mutuel betting whose commission buys back and burns a token."""
