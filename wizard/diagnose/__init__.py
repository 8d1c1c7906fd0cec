"""From an error or a symptom to its likely causes, told apart by probes, with the fix.

:func:`diagnose` reads what the operator saw (a libpq / server message, a SQLSTATE, an
exception, or a symptom id from :data:`SYMPTOMS`), works out which connection it is about
(the wizard's own login to the DW, Supabase's login to the DW through the FDW, or the wizard's
login to Supabase), runs the probes that separate the candidate causes (wizard.measure.probes) and
returns :class:`Diagnosis` objects, most likely first. A cause a probe proved is
``confirmed``; one the evidence points to is ``likely``; one that fits but was not proved is
``possible``. Each fix names the wizard step that applies it when the wizard owns the fix.

It works on a partial context: a probe that needs a missing secret, connection or config value
is reported as skipped (with the reason) in the evidence; nothing here raises for that.

The package: ``core`` (Diagnosis, Fix, the fix -> step table), ``classify`` (the operator's
input, its family, the symptoms offered), ``investigation`` (connections, secrets, which login),
``dispatch`` (family -> handler, :func:`diagnose`), and one module per domain, each registering
its handlers with ``@handles``: ``network``, ``auth``, ``privileges``, ``performance``, ``fdw``,
``supabase``.
"""

from __future__ import annotations

# The domain modules register their handlers when imported: every one must be listed here.
from wizard.diagnose import auth, fdw, network, performance, privileges, supabase
from wizard.diagnose.classify import SYMPTOM_IDS, SYMPTOMS, Input, Symptom, family
from wizard.diagnose.core import (
    CONFIRMED,
    LIKELY,
    NOTHING_FOUND,
    POSSIBLE,
    Diagnosis,
    Fix,
)
from wizard.diagnose.dispatch import HANDLERS, diagnose
from wizard.diagnose.investigation import DW_LOCAL, FDW, SUPABASE
from wizard.diagnose.supabase import diagnose_config

_family, _Input = family, Input  # the names tests/test_testbed.py and test_platform_windows use

__all__ = [
    "CONFIRMED",
    "DW_LOCAL",
    "FDW",
    "HANDLERS",
    "LIKELY",
    "NOTHING_FOUND",
    "POSSIBLE",
    "SUPABASE",
    "SYMPTOMS",
    "SYMPTOM_IDS",
    "Diagnosis",
    "Fix",
    "Input",
    "Symptom",
    "_Input",
    "_family",
    "auth",
    "diagnose",
    "diagnose_config",
    "family",
    "fdw",
    "network",
    "performance",
    "privileges",
    "supabase",
]
