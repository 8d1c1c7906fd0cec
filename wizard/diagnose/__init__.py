"""Diagnosis: from an error or a symptom to its likely causes (being split by domain)."""

from wizard.diagnose.network import (
    SYMPTOM_IDS,
    SYMPTOMS,
    Diagnosis,
    Fix,
    _family,
    _Input,
    diagnose,
    diagnose_config,
)

__all__ = [
    "SYMPTOMS",
    "SYMPTOM_IDS",
    "Diagnosis",
    "Fix",
    "_Input",
    "_family",
    "diagnose",
    "diagnose_config",
]
