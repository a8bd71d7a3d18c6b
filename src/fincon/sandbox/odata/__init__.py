"""An OData server emulator engine, driven by ``$metadata`` (EDMX), for OData V2 and V4.

Entity sets, keys, property types, enum members, navigation (containment and referential
constraints), bound actions and V4 capabilities come from the metadata document; an emulator
only seeds data and adds its vendor's specifics through hooks (:class:`WriteHooks`,
:meth:`ODataService.bind_action`, the ``ODataEmulator`` hooks). Vendors built on it: SAP
S/4HANA (V2) and Dynamics 365 Business Central (V4).

>>> emulator = ODataEmulator()                                            # doctest: +SKIP
>>> service = emulator.add_service("/odata/v4/api", "metadata.xml")      # doctest: +SKIP
>>> service.seed("vendors", factory=make_vendor, size=10_000)           # doctest: +SKIP
"""

from fincon.sandbox.odata._edm import decoder_for, encoder_for, format_key_literal, parse_literal, v2_date
from fincon.sandbox.odata._emulator import ODataEmulator
from fincon.sandbox.odata._errors import ODataError, standard_error_body
from fincon.sandbox.odata._expand import ExpandItem, parse_expand
from fincon.sandbox.odata._filter import FilterError, compile_filter
from fincon.sandbox.odata._hooks import ActionHandler, WriteHooks
from fincon.sandbox.odata._paths import Target, resolve
from fincon.sandbox.odata._schema import (
    BoundAction,
    EdmProperty,
    EntitySetSchema,
    EntityTypeSchema,
    Navigation,
    ServiceSchema,
    read_schema,
)
from fincon.sandbox.odata._service import ODataService, RequestContext
from fincon.sandbox.odata._store import Entity, EntityStore, key_string

__all__ = [
    "ActionHandler",
    "BoundAction",
    "EdmProperty",
    "Entity",
    "EntitySetSchema",
    "EntityStore",
    "EntityTypeSchema",
    "ExpandItem",
    "FilterError",
    "Navigation",
    "ODataEmulator",
    "ODataError",
    "ODataService",
    "RequestContext",
    "ServiceSchema",
    "Target",
    "WriteHooks",
    "compile_filter",
    "decoder_for",
    "encoder_for",
    "format_key_literal",
    "key_string",
    "parse_expand",
    "parse_literal",
    "read_schema",
    "resolve",
    "standard_error_body",
    "v2_date",
]
