"""What CloudFormation does with a template's parameters before it creates anything.

``refusals`` applies the parameter constraints (``AllowedValues``, ``MinValue``,
``MaxValue``, ``AllowedPattern``) and the ``Rules`` section to a set of parameter
values, as CloudFormation does before a create or update, so the template tests can
show that a combination AWS would reject later is refused up front. ``resolve``
evaluates the intrinsic functions the templates use for a given partition, so the
tests can read the ARNs a stack would get.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def parameter_values(template: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, str]:
    """Every parameter's value (given or default) as the string CloudFormation holds."""
    values = {name: str(spec["Default"]) for name, spec in template["Parameters"].items()
              if "Default" in spec}
    values.update({name: str(value) for name, value in given.items()})
    missing = sorted(set(template["Parameters"]) - set(values))
    if missing:
        raise ValueError(f"no value for parameters {missing}")
    return values


def _constraint_refusals(name: str, spec: Mapping[str, Any], value: str) -> list[str]:
    out = []
    if spec.get("Type") == "Number":
        number = float(value)
        if "MinValue" in spec and number < float(spec["MinValue"]):
            out.append(f"{name}={value} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            out.append(f"{name}={value} is above MaxValue {spec['MaxValue']}")
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        out.append(f"{name}={value} is not one of its AllowedValues")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        out.append(f"{name}={value} does not match its AllowedPattern")
    return out


def _rule_value(expr: Any, params: Mapping[str, str]) -> Any:
    if isinstance(expr, dict) and len(expr) == 1:
        (fn, arg), = expr.items()
        if fn == "Ref":
            return params[arg]
        if fn == "Fn::Equals":
            return _rule_value(arg[0], params) == _rule_value(arg[1], params)
        if fn == "Fn::Contains":
            return _rule_value(arg[1], params) in [_rule_value(v, params) for v in arg[0]]
        if fn == "Fn::And":
            return all(_rule_value(a, params) for a in arg)
        if fn == "Fn::Or":
            return any(_rule_value(a, params) for a in arg)
        if fn == "Fn::Not":
            return not _rule_value(arg[0], params)
        raise NotImplementedError(f"rule function {fn} (add it here if a template uses it)")
    if isinstance(expr, list):
        return [_rule_value(v, params) for v in expr]
    return str(expr)


def refusals(template: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    """Why CloudFormation would refuse these parameter values (empty: it accepts them)."""
    params = parameter_values(template, given)
    out: list[str] = []
    for name, spec in template["Parameters"].items():
        out += _constraint_refusals(name, spec, params[name])
    if out:
        return out  # rules run only on values that pass their constraints
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not _rule_value(rule["RuleCondition"], params):
            continue
        for assertion in rule["Assertions"]:
            if not _rule_value(assertion["Assert"], params):
                out.append(f"{name}: {assertion.get('AssertDescription', '')}")
    return out


def resolve(expr: Any, template: Mapping[str, Any], params: Mapping[str, Any],
            partition: str = "aws", region: str = "eu-west-1") -> Any:
    """``expr`` with the intrinsic functions the templates use evaluated.

    ``params`` are the parameter values (strings; list parameters as lists); a resource
    reads as ``<Name>`` and an attribute as ``<Name.Attribute>``, ``AWS::NoValue`` as None.
    """
    pseudo = {"AWS::Partition": partition, "AWS::Region": region,
              "AWS::AccountId": "123456789012", "AWS::URLSuffix": "amazonaws.com",
              "AWS::StackName": "t4"}

    def ev(e: Any) -> Any:
        if isinstance(e, list):
            return [ev(v) for v in e]
        if not isinstance(e, dict):
            return e
        if len(e) != 1 or not (next(iter(e)) == "Ref" or next(iter(e)).startswith("Fn::")):
            return {k: ev(v) for k, v in e.items()}
        (fn, arg), = e.items()
        if fn == "Ref":
            if arg == "AWS::NoValue":
                return None
            return pseudo[arg] if arg in pseudo else params.get(arg, f"<{arg}>")
        if fn == "Fn::GetAtt":
            return f"<{'.'.join(arg)}>"
        if fn == "Fn::If":
            return ev(arg[1] if condition(arg[0]) else arg[2])
        if fn == "Fn::Join":
            return arg[0].join(str(v) for v in ev(arg[1]))
        if fn == "Fn::Split":
            return ev(arg[1]).split(arg[0])
        if fn == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], ev(arg[1]))
            return re.sub(r"\$\{([^}!]+)\}",
                          lambda m: str(extra.get(m[1], pseudo.get(m[1], params.get(m[1])))),
                          text)
        if fn == "Fn::FindInMap":
            mapping, top, second = ev(arg)
            return template["Mappings"][mapping][str(top)][str(second)]
        raise NotImplementedError(f"{fn} (add it here if a template uses it)")

    def condition(name: str) -> bool:
        return bool(cond(template["Conditions"][name]))

    def cond(e: Any) -> Any:
        if isinstance(e, dict) and len(e) == 1:
            (fn, arg), = e.items()
            if fn == "Fn::Equals":
                return cond(arg[0]) == cond(arg[1])
            if fn == "Fn::Not":
                return not cond(arg[0])
            if fn == "Fn::And":
                return all(cond(a) for a in arg)
            if fn == "Fn::Or":
                return any(cond(a) for a in arg)
            if fn == "Condition":
                return condition(arg)
        return ev(e)

    return ev(expr)
