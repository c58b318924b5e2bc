"""A kustomization rendered in Python: the few features deploy/k8s uses, no more.

kustomize is not a Python package and need not be installed for the suite to check the
manifests, so the test renders them itself: `resources` (files, or directories holding a
kustomization), `namespace`, `images` and `patches` given by `path` as strategic-merge
patches, `$patch: delete` included. A kustomization with any other field is refused by name,
so a feature added to deploy/k8s is added here too, or the test says why it cannot render.
Strategic merge is approximated the way these manifests need it: maps merge key by key, a
`null` removes a key, lists of items that all have a `name` (containers, env, volumes, ports)
merge by name, and every other list is replaced. Where kubectl is installed, the test checks
that `kubectl kustomize` renders the very same documents.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

Document = dict[str, Any]

FIELDS = frozenset({"apiVersion", "kind", "resources", "namespace", "images", "patches"})
# Kinds these manifests use that live outside any namespace.
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding"})
# name[:tag][@digest], the registry's port kept in the name.
IMAGE = re.compile(r"^(?P<name>.+?)(?::(?P<tag>[^:/@]+))?(?:@(?P<digest>.+))?$")


def load_all(path: Path) -> list[Document]:
    """Every non-empty YAML document of a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def render(directory: Path) -> list[Document]:
    """The documents `kubectl kustomize directory` prints, in the order of the resources."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - FIELDS
    if unknown:
        raise NotImplementedError(
            f"{directory}/kustomization.yaml uses {', '.join(sorted(unknown))}, which "
            "tests/support/kustomize.py does not render"
        )
    documents: list[Document] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        documents += render(path) if path.is_dir() else load_all(path)
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise NotImplementedError(f"{directory}: only patches by `path` are rendered")
        for change in load_all(directory / patch["path"]):
            documents = _patched(documents, change)
    if namespace := kustomization.get("namespace"):
        for document in documents:
            if document["kind"] not in CLUSTER_SCOPED:
                document["metadata"]["namespace"] = namespace
    for image in kustomization.get("images", []):
        for container in containers(documents):
            _retag(container, image)
    return documents


def pod_spec(document: Document) -> Document | None:
    """The pod template's spec of a workload (Deployment, Job, ...), else None."""
    template = document.get("spec", {}).get("template")
    return template.get("spec") if template else None


def containers(documents: list[Document]) -> list[Document]:
    """Every container and init container of every workload."""
    found = []
    for document in documents:
        spec = pod_spec(document)
        if spec:
            found += spec.get("initContainers", []) + spec.get("containers", [])
    return found


def _patched(documents: list[Document], change: Document) -> list[Document]:
    key = (change["kind"], change["metadata"]["name"])
    matches = [
        i for i, doc in enumerate(documents) if (doc["kind"], doc["metadata"]["name"]) == key
    ]
    if len(matches) != 1:
        raise LookupError(f"a patch targets {key}, which the resources hold {len(matches)} times")
    index = matches[0]
    if change.get("$patch") == "delete":
        return documents[:index] + documents[index + 1 :]
    return [*documents[:index], _merge(documents[index], change), *documents[index + 1 :]]


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _merge(merged[key], value) if key in merged else value
        return merged
    if isinstance(base, list) and isinstance(patch, list) and _named(base + patch):
        merged_list = [copy.deepcopy(item) for item in base]
        names = [item["name"] for item in merged_list]
        for item in patch:
            if item["name"] in names:
                at = names.index(item["name"])
                merged_list[at] = _merge(merged_list[at], item)
            else:
                merged_list.append(item)
        return merged_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def _retag(container: Document, image: Document) -> None:
    match = IMAGE.match(container["image"])
    if match is None or match["name"] != image["name"]:
        return
    name = image.get("newName", match["name"])
    if "digest" in image:
        container["image"] = f"{name}@{image['digest']}"
    else:
        tag = image.get("newTag", match["tag"])
        container["image"] = f"{name}:{tag}" if tag else name
