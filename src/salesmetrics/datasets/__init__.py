"""The bundled sample: a deterministic, realistic synthetic CRM.

>>> from salesmetrics.datasets import sample_pipeline
>>> p = sample_pipeline()
>>> len(p), p.fields
(2000, ('owner', 'team', 'source', 'segment'))
"""

from salesmetrics.datasets.sample import SAMPLE_AS_OF, SAMPLE_STAGES, sample_pipeline

__all__ = ["SAMPLE_AS_OF", "SAMPLE_STAGES", "sample_pipeline"]
