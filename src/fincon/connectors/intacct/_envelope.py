"""The request envelope: ``<request><control>`` + ``<operation><authentication><content>``.

Every request carries the sender credentials in ``control`` with a fresh ``controlid``,
``uniqueid`` false and ``dtdversion`` 3.0; every function gets its own fresh
``controlid``. Authentication is a ``<login>`` block (only for ``getAPISession``) or a
``<sessionid>``, which :class:`~fincon.connectors.intacct._auth.IntacctSession` fills in
when the request is sent (so a re-login swaps the session without rebuilding the call).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from fincon.connectors.intacct._xml import element, serialize, sub

__all__ = ["DTD_VERSION", "GATEWAY_PATH", "Sender", "build_request", "function", "new_control_id"]

DTD_VERSION = "3.0"
#: The XML gateway's path; the session endpoint Intacct returns replaces the whole URL.
GATEWAY_PATH = "/ia/xml/xmlgw.phtml"


def new_control_id() -> str:
    """A fresh control id (unique per request and per function)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Sender:
    """The Web Services sender credentials that go into every request's ``control``."""

    sender_id: str
    password: SecretStr = field(repr=False)


@dataclass(frozen=True)
class Login:
    """Company login credentials for ``getAPISession`` (never shown in reprs)."""

    user_id: str
    company_id: str
    password: SecretStr = field(repr=False)
    entity_id: str | None = None


def function(body: Any, control_id: str | None = None) -> Any:
    """``<function controlid=...>`` wrapping one function element."""
    node = element("function", attrib={"controlid": control_id or new_control_id()})
    node.append(body)
    return node


def build_request(
    sender: Sender,
    functions: Sequence[Any],
    *,
    login: Login | None = None,
    session_id: str = "",
    transaction: bool = False,
) -> bytes:
    """The serialised request. Without ``login`` the authentication is a ``<sessionid>``
    (empty until the session strategy fills it in)."""
    root = element("request")
    control = sub(root, "control")
    sub(control, "senderid", sender.sender_id)
    sub(control, "password", sender.password.get_secret_value())
    sub(control, "controlid", new_control_id())
    sub(control, "uniqueid", "false")
    sub(control, "dtdversion", DTD_VERSION)
    sub(control, "includewhitespace", "false")
    operation = sub(root, "operation")
    if transaction:
        operation.set("transaction", "true")
    authentication = sub(operation, "authentication")
    if login is not None:
        block = sub(authentication, "login")
        sub(block, "userid", login.user_id)
        sub(block, "companyid", login.company_id)
        sub(block, "password", login.password.get_secret_value())
        if login.entity_id:
            sub(block, "locationid", login.entity_id)
    else:
        sub(authentication, "sessionid", session_id)
    content = sub(operation, "content")
    for node in functions:
        content.append(node)
    return serialize(root)
