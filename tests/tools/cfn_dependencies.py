"""The dependency graph CloudFormation builds from a template, and the cycles in it.

CloudFormation orders (and refuses, with "Circular dependency between resources") by every reference a
resource makes to another: `Ref`, `Fn::GetAtt`, the names inside `Fn::Sub`, and `DependsOn`, wherever
they appear in the resource: its `Properties`, its `UpdatePolicy` (CodeDeploy's deployment group sits
there), its `Metadata` and so on. Parameters, pseudo parameters and condition names are not resources
and add no edge."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# `${Name}` or `${Name.Attribute}`; `${!Literal}` is an escape, not a reference.
_SUB_NAME = re.compile(r"\$\{(?!!)([A-Za-z0-9:]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(value: Any) -> Iterator[str]:
    """Every logical name `value` refers to by `Ref`, `Fn::GetAtt` or `Fn::Sub`, at any depth."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".", 1)[0]
                if isinstance(target, str):
                    yield target
                if isinstance(inner, list):
                    yield from references(inner[1:])
            elif key == "Fn::Sub":
                text, names = (inner, {}) if isinstance(inner, str) else (inner[0], inner[1])
                yield from (n for n in _SUB_NAME.findall(text) if n not in names)
                yield from references(names)
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def dependency_graph(template: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource's logical id → the resources it depends on, as CloudFormation counts them."""
    resources = template["Resources"]
    graph: dict[str, set[str]] = {}
    for name, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        named = set(references({k: v for k, v in resource.items() if k != "DependsOn"}))
        named |= {depends_on} if isinstance(depends_on, str) else set(depends_on)
        graph[name] = {target for target in named if target in resources}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles CloudFormation would refuse: in every strongly connected group of resources, the
    shortest cycle through each member, each starting from its smallest name, without repeats."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm; templates are small, recursion is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    found = {tuple(_rotated(_shortest_cycle(graph, group, member))) for group in groups for member in group}
    return sorted(list(c) for c in found)


def _rotated(cycle: list[str]) -> list[str]:
    ring = cycle[:-1]
    first = ring.index(min(ring))
    ring = ring[first:] + ring[:first]
    return [*ring, ring[0]]


def _shortest_cycle(graph: dict[str, set[str]], group: set[str], start: str) -> list[str]:
    """A shortest path from `start` back to itself, inside its group."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"{sorted(group)} is not a cycle")
