"""An in-process stand-in for the part of an OpenSearch cluster that the adapter uses.

No OpenSearch server can be installed on these machines, so the adapter's request bodies are run
here by a small interpreter of the same query DSL subset (bool/filter, terms, range, match_none,
sort, from/size, track_total_hits, a terms aggregation ordered by count then key), over indexes,
aliases and bulk writes that behave like OpenSearch's (an alias points at one write index,
``_aliases`` applies all its actions at once, a missing index raises ``NotFoundError``). Every call
is recorded in ``calls`` so tests can check the sequence of requests.

It is not a mock of opensearch-py: it has state and answers queries. The real cluster is tested
by the contract suite when OPENSEARCH_URL is set.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from opensearchpy.exceptions import NotFoundError, RequestError


class _Indices:
    def __init__(self, cluster: FakeOpenSearch) -> None:
        self._c = cluster

    def exists_alias(self, name: str) -> bool:
        self._c.calls.append(("indices.exists_alias", name))
        return any(name in aliases for aliases in self._c.aliases.values())

    def get_alias(self, name: str) -> dict[str, Any]:
        self._c.calls.append(("indices.get_alias", name))
        found = {
            index: {"aliases": {name: {}}}
            for index, aliases in self._c.aliases.items()
            if name in aliases
        }
        if not found:
            raise NotFoundError(404, "alias_missing", {"error": f"alias [{name}] missing"})
        return found

    def create(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        self._c.calls.append(("indices.create", index))
        if index in self._c.docs or any(index in a for a in self._c.aliases.values()):
            raise RequestError(400, "resource_already_exists_exception", index)
        mapping = body["mappings"]["properties"]
        self._c.docs[index] = {}
        self._c.mappings[index] = mapping
        self._c.settings[index] = copy.deepcopy(body["settings"])
        self._c.aliases[index] = set()
        return {"acknowledged": True, "index": index}

    def delete(self, index: str, ignore_unavailable: bool = False) -> dict[str, Any]:
        self._c.calls.append(("indices.delete", index))
        if index not in self._c.docs:
            if ignore_unavailable:
                return {"acknowledged": True}
            raise NotFoundError(404, "index_not_found_exception", index)
        for table in (self._c.docs, self._c.mappings, self._c.settings, self._c.aliases):
            del table[index]
        return {"acknowledged": True}

    def refresh(self, index: str) -> dict[str, Any]:
        self._c.calls.append(("indices.refresh", index))
        return {"_shards": {"failed": 0}}

    def update_aliases(self, body: dict[str, Any]) -> dict[str, Any]:
        """All actions or none, like OpenSearch's ``_aliases``."""
        self._c.calls.append(("indices.update_aliases", copy.deepcopy(body)))
        aliases = copy.deepcopy(self._c.aliases)
        for action in body["actions"]:
            ((kind, spec),) = action.items()
            if spec["index"] not in aliases:
                raise NotFoundError(404, "index_not_found_exception", spec["index"])
            if kind == "add":
                aliases[spec["index"]].add(spec["alias"])
            elif kind == "remove":
                if spec["alias"] not in aliases[spec["index"]]:
                    raise NotFoundError(404, "aliases_not_found_exception", spec["alias"])
                aliases[spec["index"]].discard(spec["alias"])
            else:
                raise RequestError(400, "unknown action", kind)
        self._c.aliases = aliases
        return {"acknowledged": True}


class _Cluster:
    def __init__(self, cluster: FakeOpenSearch) -> None:
        self._c = cluster

    def health(self) -> dict[str, Any]:
        self._c.calls.append(("cluster.health", None))
        return {"status": "green"}


class FakeOpenSearch:
    """Indexes of documents in dicts; ``fail_bulk`` makes the next N bulk calls raise."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, dict[str, Any]]] = {}
        self.mappings: dict[str, dict[str, Any]] = {}
        self.settings: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, set[str]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.indices = _Indices(self)
        self.cluster = _Cluster(self)
        self.fail_bulk = 0

    # ------------------------------------------------------------------------- helpers
    def _resolve(self, name: str, *, write: bool = False) -> str:
        if name in self.docs:
            return name
        targets = [index for index, aliases in self.aliases.items() if name in aliases]
        if not targets:
            raise NotFoundError(404, "index_not_found_exception", name)
        if write and len(targets) != 1:
            raise RequestError(400, "illegal_argument_exception", "no write index")
        return targets[0]

    def _check_source(self, index: str, source: dict[str, Any]) -> None:
        unknown = set(source) - set(self.mappings[index])  # "dynamic": "strict"
        if unknown:
            raise RequestError(400, "strict_dynamic_mapping_exception", sorted(unknown))

    # ------------------------------------------------------------------------- the API
    def bulk(self, body: list[dict[str, Any]], refresh: str = "false") -> dict[str, Any]:
        self.calls.append(("bulk", (len(body), refresh)))
        if self.fail_bulk > 0:
            self.fail_bulk -= 1
            raise ConnectionError("fake cluster: connection refused")
        items: list[dict[str, Any]] = []
        lines = iter(body)
        for action in lines:
            ((kind, meta),) = action.items()
            index = self._resolve(meta["_index"], write=True)
            doc_id = meta["_id"]
            if kind == "index":
                source = next(lines)
                self._check_source(index, source)
                created = doc_id not in self.docs[index]
                self.docs[index][doc_id] = copy.deepcopy(source)
                items.append({"index": {"_id": doc_id, "status": 201 if created else 200}})
            elif kind == "delete":
                found = self.docs[index].pop(doc_id, None) is not None
                items.append({"delete": {"_id": doc_id, "status": 200 if found else 404}})
            else:
                raise RequestError(400, "unknown bulk action", kind)
        errors = any(
            next(iter(item.values()))["status"] >= 300 and "delete" not in item for item in items
        )
        return {"errors": errors, "items": items}

    def count(self, index: str) -> dict[str, Any]:
        self.calls.append(("count", index))
        return {"count": len(self.docs[self._resolve(index)])}

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("search", index))
        docs = list(self.docs[self._resolve(index)].items())
        matched = [(doc_id, src) for doc_id, src in docs if _matches(src, body["query"])]
        for spec in reversed(body.get("sort", [])):  # stable sorts, last key first
            ((field, order),) = spec.items()
            matched.sort(key=lambda item, f=field: item[1][f], reverse=order == "desc")
        start, size = body.get("from", 0), body.get("size", 10)
        if start + size > 10_000:
            raise RequestError(400, "illegal_argument_exception", "Result window is too large")
        page = matched[start : start + size]
        response: dict[str, Any] = {
            "hits": {
                "total": {"value": len(matched), "relation": "eq"},
                "hits": [{"_id": doc_id} for doc_id, _ in page],
            }
        }
        if "aggs" in body:
            spec = body["aggs"]["labels"]["terms"]
            assert spec["order"] == [{"_count": "desc"}, {"_key": "asc"}]
            counts: Counter[int] = Counter()
            for _, src in matched:
                counts.update(set(src[spec["field"]]))
            buckets = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: spec["size"]]
            response["aggregations"] = {
                "labels": {"buckets": [{"key": k, "doc_count": n} for k, n in buckets]}
            }
        return response


def _matches(source: dict[str, Any], clause: dict[str, Any]) -> bool:
    ((kind, spec),) = clause.items()
    if kind == "match_all":
        return True
    if kind == "match_none":
        return False
    if kind == "bool":
        musts = spec.get("filter", []) + spec.get("must", [])
        if not all(_matches(source, c) for c in musts):
            return False
        shoulds = spec.get("should", [])
        if shoulds:
            needed = spec.get("minimum_should_match", 1)
            return sum(_matches(source, c) for c in shoulds) >= needed
        return True
    if kind == "terms":
        ((field, values),) = spec.items()
        have = source[field] if isinstance(source[field], list) else [source[field]]
        return bool(set(have) & set(values))
    if kind == "range":
        ((field, bounds),) = spec.items()
        value = source[field]
        checks = {
            "gte": lambda b: value >= b,
            "gt": lambda b: value > b,
            "lte": lambda b: value <= b,
            "lt": lambda b: value < b,
        }
        return all(checks[op](bound) for op, bound in bounds.items())
    raise NotImplementedError(f"fake OpenSearch does not interpret {kind!r}")
