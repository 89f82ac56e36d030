"""Reading deals from CRM exports and APIs (no extra dependency: the standard library's csv).

Each adapter reads the vendor's own field names and semantics and builds a
`Pipeline` with the right stages, outcomes, probabilities and history. Each
accepts a path to a CSV export or the records as the vendor's API returns them (a list of dicts,
or the response envelope).

- `read_salesforce`: Opportunity, OpportunityStage and OpportunityHistory;
  `read_salesforce_rates`: DatedConversionRate, for ``rates=``.
- `read_hubspot`: deals, pipeline definitions, ``hs_date_entered_*`` stage history.
- `read_pipedrive`: deals and stage definitions.
- `read_records`: any other CRM, with a column mapping.
- `read_columns`: a CSV file as columns of strings.
"""

from salesmetrics.io.csv import read_columns
from salesmetrics.io.hubspot import HUBSPOT_DEFAULT_PIPELINE, read_hubspot
from salesmetrics.io.pipedrive import read_pipedrive
from salesmetrics.io.records import read_records
from salesmetrics.io.salesforce import read_salesforce, read_salesforce_rates

__all__ = [
    "HUBSPOT_DEFAULT_PIPELINE",
    "read_columns",
    "read_hubspot",
    "read_pipedrive",
    "read_records",
    "read_salesforce",
    "read_salesforce_rates",
]
