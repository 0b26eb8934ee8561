"""Case files: what to investigate, validated."""

from provenance.case.loader import CASE_FILE_NAME, Case, load_case
from provenance.case.schema import SUITE_NAMES, CaseFile, ModelSpec, SuiteSpec
from provenance.case.template import init_case

__all__ = ["CASE_FILE_NAME", "SUITE_NAMES", "Case", "CaseFile", "ModelSpec", "SuiteSpec", "init_case", "load_case"]
