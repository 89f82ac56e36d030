"""The bundled sample: a deterministic, realistic synthetic CRM, with quarterly quotas per owner.

>>> from salesmetrics.datasets import SAMPLE_QUOTAS, sample_pipeline
>>> p = sample_pipeline()
>>> len(p), p.fields
(2000, ('owner', 'team', 'source', 'segment', 'forecast_category'))
>>> SAMPLE_QUOTAS["Ava Patel"], sum(SAMPLE_QUOTAS.values())
(300000.0, 1700000.0)
"""

from salesmetrics.datasets.activities import SAMPLE_ACTIVITY_TARGETS, sample_activities
from salesmetrics.datasets.sample import SAMPLE_AS_OF, SAMPLE_QUOTAS, SAMPLE_STAGES, sample_pipeline
from salesmetrics.datasets.snapshots import sample_snapshots

__all__ = [
    "SAMPLE_ACTIVITY_TARGETS",
    "SAMPLE_AS_OF",
    "SAMPLE_QUOTAS",
    "SAMPLE_STAGES",
    "sample_activities",
    "sample_pipeline",
    "sample_snapshots",
]
