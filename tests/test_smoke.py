from __future__ import annotations

from tests.conftest import GraphQLClient


async def test_viewer_is_anonymous_without_token(graphql: GraphQLClient) -> None:
    data = await graphql.data("{ viewer { role } section { code } }")
    assert data == {"viewer": {"role": "ANONYMOUS"}, "section": None}
