"""Technician scoring engine: hard filters, weighted 0..1 score, explainable decision records.

No database or network I/O; ``handlers.dispatch.engine.specs`` is the only module that reads files.
"""

from .config import DispatchConfig, DispatchConfigError, Normalisation, Profile, Weights, parse_config
from .explain import explain
from .filters import FILTERS
from .geo import eta_minutes, haversine_km
from .index import TechnicianIndex
from .model import GeoPoint, Job, Technician
from .ranking import rank, top_m
from .record import Candidate, DispatchDecision, Facts, Rejection
from .shifts import Leave, ShiftWindow

__all__ = [
    "Candidate", "DispatchConfig", "DispatchConfigError", "DispatchDecision", "FILTERS", "Facts",
    "GeoPoint", "Job", "Leave", "Normalisation", "Profile", "Rejection", "ShiftWindow", "Technician",
    "TechnicianIndex", "Weights", "eta_minutes", "explain", "haversine_km", "parse_config", "rank",
    "top_m",
]
