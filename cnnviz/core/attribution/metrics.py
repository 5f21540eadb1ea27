"""Faithfulness and sanity of attribution maps. Work in progress: deletion, insertion and
randomisation are added here."""
