"""Diagnosis: gather facts about a CE, run ordered checks, name the cause."""
