"""vcrpy cassettes that scrub secrets by default and refuse to write a planted canary.

Record real traffic once, replay it in tests without credentials or network::

    from fincon.testing.cassettes import use_cassette

    @use_cassette("stripe_list_invoices", cassette_dir="tests/cassettes", canaries=[fake_key])
    def test_list_invoices(): ...

Everything is masked before it reaches the disk (see :class:`CassetteScrubber` and
``docs/cassettes.md``); the cassette is then serialised, read back and searched for every canary,
every extra secret and every registered secret, and :class:`CassetteLeak` is raised, with nothing
written, if one is still there.

This module is imported by fincon's pytest plugin, so it imports vcrpy only when a cassette is
configured.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from fincon.errors import ConfigError
from fincon.testing._cassette_guard import CassetteGuard
from fincon.testing._cassette_rules import CassetteLeak
from fincon.testing._cassette_scrub import CassetteScrubber

if TYPE_CHECKING:
    import vcr

__all__ = [
    "DEFAULT_MATCH_ON",
    "CassetteGuard",
    "CassetteLeak",
    "CassetteScrubber",
    "fincon_vcr",
    "scrub_request",
    "scrub_response",
    "use_cassette",
]

#: vcrpy's own default: bodies are not matched (nonces and timestamps differ between runs).
DEFAULT_MATCH_ON = ("method", "scheme", "host", "port", "path", "query")

_SCRUBBER_KEY = "fincon_scrubber"


def scrub_request(request: Any, *, scrubber: CassetteScrubber | None = None) -> Any:
    """Return a scrubbed copy of a ``vcr.request.Request`` (default rules unless ``scrubber``).

    For your own vcrpy configuration: ``vcr.VCR(before_record_request=scrub_request)``.
    """
    return (scrubber or _default_scrubber()).scrub_request(request)


def scrub_response(response: Any, *, scrubber: CassetteScrubber | None = None) -> Any:
    """Return a scrubbed copy of a vcrpy response dict (default rules unless ``scrubber``).

    For your own vcrpy configuration: ``vcr.VCR(before_record_response=scrub_response)``.
    Gzip and deflate bodies are stored decoded; other codings raise :class:`CassetteLeak`.
    """
    return (scrubber or _default_scrubber()).scrub_response(response)


@functools.lru_cache(maxsize=1)
def _default_scrubber() -> CassetteScrubber:
    return CassetteScrubber()


def fincon_vcr(
    cassette_dir: str | os.PathLike[str],
    *,
    canaries: Iterable[str] = (),
    record_mode: str = "once",
    extra_secrets: Iterable[str] = (),
    scrub_account_ids: Iterable[str] = (),
    match_on: Iterable[str] = DEFAULT_MATCH_ON,
    scrub_headers: Iterable[str] = (),
    scrub_fields: Iterable[str] = (),
    scrub_xml_elements: Iterable[str] = (),
    serializer: str = "yaml",
    **vcr_options: Any,
) -> vcr.VCR:
    """A ``vcr.VCR`` that scrubs every interaction and guards every cassette it writes.

    Args:
        cassette_dir: where cassettes live; ``use_cassette("name")`` is ``cassette_dir/name.yaml``.
        canaries: fake secrets planted in the test; if one would be written, :class:`CassetteLeak`.
        record_mode: vcrpy's record mode (``"once"``, ``"none"``, ``"new_episodes"``, ``"all"``).
        extra_secrets: more values to mask wherever they occur (at least 6 characters each).
        scrub_account_ids: account ids replaced by ``account-1``, ``account-2``, ... everywhere.
        match_on: vcrpy matchers used to find a recorded response.
        scrub_headers: more header names whose whole value is masked.
        scrub_fields: more query, form and JSON field names whose values are masked.
        scrub_xml_elements: more XML element local names whose content is masked.
        serializer: ``"yaml"`` or ``"json"``.
        **vcr_options: passed to ``vcr.VCR``. Your ``before_record_request`` and
            ``before_record_response`` hooks run before fincon's scrubbing, which always runs
            last; the persister cannot be replaced.
    """
    scrubber = CassetteScrubber(
        extra_secrets=extra_secrets,
        account_ids=scrub_account_ids,
        headers=scrub_headers,
        fields=scrub_fields,
        xml_elements=scrub_xml_elements,
    )
    guard = CassetteGuard(canaries, scrubber=scrubber)
    vcr_class, _ = _vcr_classes()
    if "persister" in vcr_options:
        raise ConfigError("fincon_vcr() writes cassettes through its own guard; a persister cannot be given")
    vcr_options.setdefault("path_transformer", vcr_class.ensure_suffix(f".{serializer}"))
    return vcr_class(
        scrubber=scrubber,
        guard=guard,
        cassette_library_dir=os.fspath(cassette_dir),
        record_mode=record_mode,
        match_on=tuple(match_on),
        serializer=serializer,
        **vcr_options,
    )


def use_cassette(name: str, *, cassette_dir: str | os.PathLike[str] | None = None, **options: Any) -> Any:
    """Record to, or replay from, the cassette ``name``: a context manager and a decorator.

    ``with use_cassette("intacct_login", canaries=[password]) as cassette: ...`` or
    ``@use_cassette("intacct_login")`` on a test (sync, async or generator).

    ``cassette_dir`` defaults to ``$FINCON_CASSETTE_DIR``, else ``cassettes`` under the current
    directory; ``record_mode`` defaults to ``$FINCON_RECORD_MODE``, else ``"once"`` (set it to
    ``none`` in CI so a missing interaction fails instead of reaching the network). Options of
    :func:`fincon_vcr` configure the scrubbing; any other option goes to vcrpy's
    ``use_cassette`` (``allow_playback_repeats=True``, ...).
    """
    directory = (
        cassette_dir if cassette_dir is not None else os.environ.get("FINCON_CASSETTE_DIR", "cassettes")
    )
    options.setdefault("record_mode", os.environ.get("FINCON_RECORD_MODE", "once"))
    vcr_class, _ = _vcr_classes()
    own = set(inspect.signature(fincon_vcr).parameters) | set(
        inspect.signature(vcr_class.__bases__[0]).parameters
    )
    configuration = {key: value for key, value in options.items() if key in own}
    per_cassette = {key: value for key, value in options.items() if key not in own}
    return fincon_vcr(directory, **configuration).use_cassette(name, **per_cassette)


@functools.lru_cache(maxsize=1)
def _vcr_classes() -> tuple[Any, Any]:
    """Define the vcrpy subclasses on first use, so importing this module does not import vcrpy."""
    import vcr
    from vcr.cassette import Cassette, CassetteContextDecorator
    from vcr.errors import CannotOverwriteExistingCassetteException

    class FinconCassetteContext(CassetteContextDecorator):  # type: ignore[misc]
        """vcrpy's cassette context, made safe when saving fails and when a request is refused."""

        _non_cassette_arguments = (*CassetteContextDecorator._non_cassette_arguments, _SCRUBBER_KEY)

        def __exit__(self, *exc_info: Any) -> None:
            error = exc_info[1]
            if isinstance(error, CannotOverwriteExistingCassetteException):
                # vcrpy's message shows the live request's URL (and body): scrub it too.
                scrubber = self._args_getter().get(_SCRUBBER_KEY) or _default_scrubber()
                error.args = tuple(scrubber.scrub_text(str(arg)) for arg in error.args)
                with suppress(Exception):
                    error.failed_request = scrubber.scrub_request(error.failed_request)
            try:
                super().__exit__(*exc_info)
            except BaseException:
                # vcrpy leaves its patches in place when saving raises; undo them now.
                finish = getattr(self, "_CassetteContextDecorator__finish", None)
                if finish is not None:
                    with suppress(Exception):
                        finish.close()
                self._CassetteContextDecorator__finish = None
                self._CassetteContextDecorator__cassette = None
                raise

    class FinconVCR(vcr.VCR):  # type: ignore[misc]
        """``vcr.VCR`` whose scrubbing always runs last and whose persister is the guard."""

        def __init__(self, *, scrubber: CassetteScrubber, guard: CassetteGuard, **options: Any) -> None:
            super().__init__(**options)
            self.fincon_scrubber = scrubber
            self.fincon_guard = guard
            self.persister = guard

        def get_merged_config(self, **kwargs: Any) -> dict[str, Any]:
            if "persister" in kwargs:
                raise ConfigError(
                    "fincon cassettes are written through their guard; a persister cannot be given"
                )
            config: dict[str, Any] = super().get_merged_config(**kwargs)
            config["persister"] = self.fincon_guard
            config[_SCRUBBER_KEY] = self.fincon_scrubber
            return config

        def register_persister(self, persister: Any) -> None:
            raise ConfigError(
                "fincon cassettes are written through their guard; a persister cannot be registered"
            )

        def _build_before_record_request(self, options: Any) -> Any:
            user_hooks = super()._build_before_record_request(options)
            scrub = self.fincon_scrubber.scrub_request

            def before_record_request(request: Any) -> Any:
                request = user_hooks(request)  # vcrpy copies the request first
                return None if request is None else scrub(request, copy=False)

            return before_record_request

        def _build_before_record_response(self, options: Any) -> Any:
            user_hooks = super()._build_before_record_response(options)
            scrub = self.fincon_scrubber.scrub_response

            def before_record_response(response: Any) -> Any:
                response = user_hooks(response)
                return None if response is None else scrub(response)

            return before_record_response

        def _use_cassette(self, with_current_defaults: bool = False, **kwargs: Any) -> Any:
            if with_current_defaults:
                return FinconCassetteContext.from_args(Cassette, **self.get_merged_config(**kwargs))
            return FinconCassetteContext(Cassette, functools.partial(self.get_merged_config, **kwargs))

    return FinconVCR, FinconCassetteContext
