"""The links the schema keeps by id name columns that exist, and values that fit in them.

The data-model pages draw these links beside the foreign keys (apps/docs/datamodel.py): a
renamed or dropped column must not leave a line on the diagram that the schema no longer has.
"""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, String

from adapters.db.logical_links import LOGICAL_LINKS, LogicalLink
from adapters.db.tables import metadata


def _name(link: LogicalLink) -> str:
    return f"{link.table}.{','.join(link.columns)}->{link.target}"


@pytest.mark.parametrize("link", LOGICAL_LINKS, ids=_name)
def test_a_logical_link_names_real_columns_of_matching_types(link: LogicalLink) -> None:
    assert link.table in metadata.tables, f"no table {link.table}"
    assert link.target in metadata.tables, f"no table {link.target}"
    table, target = metadata.tables[link.table], metadata.tables[link.target]
    assert len(link.columns) == len(link.target_columns)
    for name, target_name in zip(link.columns, link.target_columns, strict=True):
        assert name in table.columns, f"no column {link.table}.{name}"
        assert target_name in target.columns, f"no column {link.target}.{target_name}"
        column, referred = table.columns[name], target.columns[target_name]
        if link.inside:
            # The value sits in a JSON document; what it refers to is a key.
            assert isinstance(column.type, JSON), f"{link.table}.{name} is no document"
        else:
            assert isinstance(column.type, String) and isinstance(referred.type, String)
            assert (column.type.length or 0) >= (referred.type.length or 0), (
                f"{link.table}.{name} is too short for {link.target}.{target_name}"
            )
    # What a link refers to identifies one row: a primary key or a unique column.
    keys = {column.name for column in target.primary_key.columns}
    unique = {column.name for column in target.columns if column.unique}
    assert set(link.target_columns) == keys or set(link.target_columns) <= unique


def test_no_logical_link_repeats_a_foreign_key() -> None:
    """A foreign key is drawn from the metadata already; declaring it here too would draw it
    twice, once as if the database did not check it."""
    foreign = {
        (table.name, tuple(constraint.column_keys), constraint.referred_table.name)
        for table in metadata.tables.values()
        for constraint in table.foreign_key_constraints
    }
    repeated = [
        _name(link) for link in LOGICAL_LINKS if (link.table, link.columns, link.target) in foreign
    ]
    assert not repeated, repeated
