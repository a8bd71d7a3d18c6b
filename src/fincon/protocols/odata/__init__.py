"""OData V2 and V4 client layer shared by the SAP S/4HANA and Dynamics 365 connectors.

- :mod:`~fincon.protocols.odata.metadata`: ``$metadata`` parsing (:func:`parse_metadata`) and
  :class:`MetadataCache`;
- :mod:`~fincon.protocols.odata.codecs`: Edm value codecs and URL literals per version;
- :mod:`~fincon.protocols.odata.query`: the typed :class:`Query` builder, :class:`F`, and
  :func:`key_predicate`;
- :mod:`~fincon.protocols.odata.envelope`: response envelopes (``d``, ``d.results``, ``value``);
- :mod:`~fincon.protocols.odata.errors`: OData error bodies into fincon errors;
- :mod:`~fincon.protocols.odata.paging`: server-driven and client paging;
- :mod:`~fincon.protocols.odata.batch`: ``$batch`` (multipart/mixed and V4 JSON);
- :mod:`~fincon.protocols.odata.resource`: :class:`ODataResource`, the generic handler
  connectors subclass, and :class:`ODataService` for ``native`` queries.
"""

from __future__ import annotations

from fincon.protocols.odata._version import ODataVersion
from fincon.protocols.odata.batch import (
    Batch,
    BatchRequest,
    BatchResponse,
    OperationResult,
    parse_batch_response,
)
from fincon.protocols.odata.codecs import decode, encode, infer_edm_type, literal
from fincon.protocols.odata.envelope import ODataPage, etag_of, unwrap_collection, unwrap_entity
from fincon.protocols.odata.errors import parse_odata_error
from fincon.protocols.odata.metadata import (
    ComplexType,
    EntitySet,
    EntityType,
    EnumType,
    FunctionImport,
    MetadataCache,
    NavigationProperty,
    Operation,
    Property,
    ServiceMetadata,
    parse_metadata,
)
from fincon.protocols.odata.paging import ODataPaging
from fincon.protocols.odata.query import F, Query, and_, asc, desc, key_predicate, not_, or_
from fincon.protocols.odata.resource import ODataResource, compose_id, split_id
from fincon.protocols.odata.service import EntitySetQuery, ODataService

__all__ = [
    "Batch",
    "BatchRequest",
    "BatchResponse",
    "ComplexType",
    "EntitySet",
    "EntitySetQuery",
    "EntityType",
    "EnumType",
    "F",
    "FunctionImport",
    "MetadataCache",
    "NavigationProperty",
    "ODataPage",
    "ODataPaging",
    "ODataResource",
    "ODataService",
    "ODataVersion",
    "Operation",
    "OperationResult",
    "Property",
    "Query",
    "ServiceMetadata",
    "and_",
    "asc",
    "compose_id",
    "decode",
    "desc",
    "encode",
    "etag_of",
    "infer_edm_type",
    "key_predicate",
    "literal",
    "not_",
    "or_",
    "parse_batch_response",
    "parse_metadata",
    "parse_odata_error",
    "split_id",
    "unwrap_collection",
    "unwrap_entity",
]
