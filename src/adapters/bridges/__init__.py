"""In-process links between contexts: each backs one context's narrow port with another
context's own use cases, sent through the shared bus. Split into services, these become
HTTP or stream clients without the core noticing."""

from adapters.bridges.links import in_process_links

__all__ = ["in_process_links"]
