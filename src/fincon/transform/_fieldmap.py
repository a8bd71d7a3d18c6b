"""``FieldMap``: a declarative mapping between record shapes that reports errors, never fails a batch.

A rule reads a value at ``source`` (a dotted path), passes it through its transforms, and
writes it at ``target``. A missing value takes the rule's ``default``; a missing value
with no default is an error when ``required``. Every problem becomes a ``FieldError`` on
that record's ``FieldMapResult``; ``apply`` never raises because of a record's content.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic

from fincon.errors import ValidationError
from fincon.models import RESOURCE_MODELS, Record
from fincon.transform._paths import MISSING, PathError, get_path, parse_path, set_path
from fincon.transform._transforms import Transform, resolve_transform

__all__ = ["FieldError", "FieldMap", "FieldMapResult", "FieldRule"]

_RULE_KEYS = frozenset({"source", "target", "transform", "required", "default"})


@dataclass(frozen=True)
class FieldError:
    """Why one field of one record could not be mapped."""

    target: str
    """Target path (or the model field path, for errors found when validating the model)."""
    message: str
    """What went wrong, in words."""
    source: str | None = None
    """Source path the value was read from."""
    value: Any = None
    """The offending value, as read."""


@dataclass(frozen=True)
class FieldMapResult:
    """The outcome of mapping one record."""

    index: int
    """Position of the record in the batch."""
    output: dict[str, Any]
    """The target fields that could be mapped (partial when there are errors)."""
    errors: tuple[FieldError, ...] = ()
    """One entry per failed field."""
    record: Record | None = None
    """The validated record, when the map has a ``model`` and validation succeeded."""

    @property
    def ok(self) -> bool:
        """True when every field mapped (and the model, if any, validated)."""
        return not self.errors


@dataclass(frozen=True)
class FieldRule:
    """One mapping rule: ``source`` -> ``transforms`` -> ``target``."""

    target: str
    """Dotted path written in the output (``"total.amount"``, ``"lines.0.quantity"``)."""
    source: str | None = None
    """Dotted path read from the input; ``None`` for a rule that only sets ``default``."""
    transforms: tuple[str | Transform, ...] = ()
    """Transform names (``"amount:de_DE"``) or callables, applied in order."""
    required: bool = False
    """Whether a missing value (absent, ``None`` or blank text) without default is an error."""
    default: Any = MISSING
    """Value used when the source is missing (not transformed)."""
    _steps: tuple[Transform, ...] = field(default=(), repr=False, compare=False)
    _source_path: tuple[str | int, ...] = field(default=(), repr=False, compare=False)
    _target_path: tuple[str | int, ...] = field(default=(), repr=False, compare=False)


def _is_blank(value: Any) -> bool:
    return value is MISSING or value is None or (isinstance(value, str) and not value.strip())


def _describe(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        return error.message
    return f"{type(error).__name__}: {error}"


class FieldMap:
    """A declarative mapping applied to many records.

    ``FieldMap([FieldRule(target="total.amount", source="Amount", transforms=("amount",))], model="bill")``,
    or from configuration with :meth:`from_dict` / :meth:`from_yaml`. With ``model`` (a resource
    name or a ``Record`` class) each output is validated into that record and validation errors
    are reported per field. ``transforms`` registers extra named transforms.
    """

    def __init__(
        self,
        rules: Iterable[FieldRule | Mapping[str, Any]],
        *,
        model: str | type[Record] | None = None,
        transforms: Mapping[str, Transform] | None = None,
    ) -> None:
        custom = dict(transforms or {})
        self.rules: tuple[FieldRule, ...] = tuple(
            self._compile(index, rule, custom) for index, rule in enumerate(rules)
        )
        targets = [rule.target for rule in self.rules]
        duplicates = sorted({t for t in targets if targets.count(t) > 1})
        if duplicates:
            raise ValidationError(f"targets mapped twice: {', '.join(duplicates)}", field="fields")
        self.model: type[Record] | None = self._resolve_model(model)

    @staticmethod
    def _resolve_model(model: str | type[Record] | None) -> type[Record] | None:
        if model is None or (isinstance(model, type) and issubclass(model, Record)):
            return model
        if isinstance(model, str) and model in RESOURCE_MODELS:
            return RESOURCE_MODELS[model]
        raise ValidationError(
            f"unknown model {model!r} (expected a resource name such as 'bill' or a Record class)",
            field="model",
        )

    @staticmethod
    def _compile(index: int, rule: FieldRule | Mapping[str, Any], custom: dict[str, Transform]) -> FieldRule:
        where = f"fields[{index}]"
        if isinstance(rule, Mapping):
            unknown = set(rule) - _RULE_KEYS
            if unknown:
                raise ValidationError(f"{where}: unknown keys {sorted(unknown)}", field=where)
            spec = rule.get("transform", ())
            rule = FieldRule(
                target=rule.get("target"),  # type: ignore[arg-type]  # checked by parse_path below
                source=rule.get("source"),
                transforms=tuple(spec) if isinstance(spec, (list, tuple)) else (spec,),
                required=bool(rule.get("required", False)),
                default=rule.get("default", MISSING),
            )
        try:
            target_path = parse_path(rule.target)
            source_path = parse_path(rule.source) if rule.source is not None else ()
        except PathError as error:
            raise ValidationError(f"{where}: {error}", field=where) from None
        if rule.source is None and rule.default is MISSING:
            raise ValidationError(f"{where}: a rule needs a source or a default", field=where)
        steps: list[Transform] = []
        for spec in rule.transforms:
            if callable(spec):
                steps.append(spec)
            elif isinstance(spec, str):
                for name in spec.split("|"):  # "strip|upper" chains in one string
                    try:
                        steps.append(resolve_transform(name.strip(), custom))
                    except ValidationError as error:
                        raise ValidationError(
                            f"{where}: {error.message}", field=f"{where}.transform"
                        ) from None
            else:
                raise ValidationError(f"{where}: a transform must be a name or a callable", field=where)
        return FieldRule(
            target=rule.target,
            source=rule.source,
            transforms=rule.transforms,
            required=rule.required,
            default=rule.default,
            _steps=tuple(steps),
            _source_path=source_path,
            _target_path=target_path,
        )

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, transforms: Mapping[str, Transform] | None = None
    ) -> FieldMap:
        """A map from configuration: ``{"model": "bill", "fields": [{"source": ..., "target": ...}, ...]}``.

        ``fields`` may also be a mapping from target to source path, or to a rule without ``target``.
        """
        if not isinstance(data, Mapping) or "fields" not in data:
            raise ValidationError("a field map needs a 'fields' list", field="fields")
        unknown = set(data) - {"fields", "model"}
        if unknown:
            raise ValidationError(f"unknown field-map keys {sorted(unknown)}", field="fields")
        fields = data["fields"]
        rules: list[Mapping[str, Any]]
        if isinstance(fields, Mapping):
            rules = [
                {"target": target, **(spec if isinstance(spec, Mapping) else {"source": spec})}
                for target, spec in fields.items()
            ]
        elif isinstance(fields, Sequence) and not isinstance(fields, str):
            rules = list(fields)
        else:
            raise ValidationError("'fields' must be a list of rules or a mapping of targets", field="fields")
        return cls(rules, model=data.get("model"), transforms=transforms)

    @classmethod
    def from_yaml(
        cls, source: str | os.PathLike[str], *, transforms: Mapping[str, Transform] | None = None
    ) -> FieldMap:
        """A map from YAML text, or from a YAML file when given a path object.

        Quote amounts in YAML (``default: "0.00"``): YAML reads ``0.00`` as a float, which fincon refuses.
        """
        import yaml  # only YAML users pay for importing it

        text = open(source, encoding="utf-8").read() if isinstance(source, os.PathLike) else source  # noqa: SIM115
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValidationError(f"field map is not valid YAML: {error}", field="fields") from None
        return cls.from_dict(data, transforms=transforms)

    def apply_one(self, record: Any, index: int = 0) -> FieldMapResult:
        """Map one record; errors are collected on the result, never raised."""
        output: dict[str, Any] = {}
        errors: list[FieldError] = []
        for rule in self.rules:
            error = self._apply_rule(rule, record, output)
            if error is not None:
                errors.append(error)
        validated: Record | None = None
        if self.model is not None and not errors:
            validated = self._validate(output, errors)
        return FieldMapResult(index=index, output=output, errors=tuple(errors), record=validated)

    def apply(self, records: Iterable[Any]) -> list[FieldMapResult]:
        """Map every record, one ``FieldMapResult`` per input in order, whatever their content."""
        return [self.apply_one(record, index) for index, record in enumerate(records)]

    @staticmethod
    def _apply_rule(rule: FieldRule, record: Any, output: dict[str, Any]) -> FieldError | None:
        value: Any = MISSING
        try:
            if rule.source is not None:
                value = get_path(record, rule._source_path)
            if _is_blank(value):
                if rule.default is not MISSING:
                    set_path(output, rule._target_path, rule.default)
                    return None
                if rule.required:
                    return FieldError(rule.target, "required value is missing", rule.source, None)
                return None
            for step in rule._steps:
                value = step(value)
            set_path(output, rule._target_path, value)
        except Exception as error:  # a batch reports, it does not stop: every failure becomes a FieldError
            return FieldError(
                rule.target, _describe(error), rule.source, value if value is not MISSING else None
            )
        return None

    def _validate(self, output: dict[str, Any], errors: list[FieldError]) -> Record | None:
        assert self.model is not None
        try:
            return self.model.model_validate(output)
        except pydantic.ValidationError as error:
            for detail in error.errors(include_url=False):
                path = ".".join(str(part) for part in detail["loc"]) or self.model.resource
                errors.append(FieldError(path, detail["msg"], None, detail.get("input")))
        except Exception as error:  # a custom validator raising something else is still reported
            errors.append(FieldError(self.model.resource, _describe(error)))
        return None
