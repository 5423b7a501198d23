"""The structure of a NIR graph: sources of every node, strongly connected components, the order
in which to run them, back edges, and the check that every cycle passes through a neuron."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["back_edges", "components", "sources_of"]


def sources_of(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Every node's sources in edge order (a repeated edge counts twice: NIR sums fan-in)."""
    sources: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        sources[b].append(a)
    return sources


def components(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components in topological order (sources first), each component's
    members in the order of ``names`` (Tarjan's algorithm, iterative)."""
    succ: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        succ[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in names:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            for j in range(i, len(succ[node])):
                nxt = succ[node][j]
                if nxt not in index:
                    work.append((node, j + 1))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                member = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    member.append(w)
                    if w == node:
                        break
                found.append(member)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    found.reverse()  # Tarjan emits sinks first
    order = {n: k for k, n in enumerate(names)}
    return [sorted(c, key=order.__getitem__) for c in found]


def back_edges(
    members: Sequence[str], edges: Sequence[tuple[str, str]], entry: str
) -> tuple[list[str], set[tuple[str, str]]]:
    """Inside one component: the members in step order and the edges that close cycles.

    A depth-first search from ``entry`` along the component's edges (in edge order): an edge to
    a member still on the search path is a back edge and reads the previous step; the others
    form a DAG run in reverse post-order.
    """
    inside = set(members)
    succ: Mapping[str, list[str]] = {
        m: [b for a, b in edges if a == m and b in inside] for m in members
    }
    state: dict[str, int] = {}  # 1: on the path, 2: done
    post: list[str] = []
    backs: set[tuple[str, str]] = set()
    work = [(entry, 0)]
    state[entry] = 1
    while work:
        node, i = work.pop()
        children = succ[node]
        if i < len(children):
            work.append((node, i + 1))
            nxt = children[i]
            if state.get(nxt) == 1:
                backs.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                work.append((nxt, 0))
        else:
            state[node] = 2
            post.append(node)
    post.reverse()
    return post, backs
