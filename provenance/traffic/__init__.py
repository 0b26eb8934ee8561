"""Traffic forensics: find extraction campaigns in a teacher vendor's API logs (``provenance traffic scan``)."""

from provenance.traffic.scan import ScanResult, scan
from provenance.traffic.simulate import write_log

__all__ = ["ScanResult", "scan", "write_log"]
