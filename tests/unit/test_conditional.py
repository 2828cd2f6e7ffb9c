"""If-None-Match as RFC 9110 reads it (§8.8.3 and §5.6.1's list rules), against one current ETag."""

import pytest

from tasklogs_core.domain.conditional import names_current

ETAG = 'W/"abc"'


@pytest.mark.parametrize(
    "header",
    [
        'W/"abc"',
        '"abc"',
        '"x", W/"abc"',
        'W/"x",,W/"abc"',  # empty list elements are ignored
        ', W/"abc"',
        'W/"abc",',
        ' , , "abc" , ',
        "*",
    ],
)
def test_a_list_naming_the_current_tag_is_a_304(header: str) -> None:
    assert names_current(header, ETAG)


@pytest.mark.parametrize("header", ["", ",", ",,", '"x"', 'W/"x",,"y"', "abc", 'W/"abc" junk', '"ab', None])
def test_a_list_not_naming_it_or_not_a_list_of_tags_is_not(header: str | None) -> None:
    assert not names_current(header, ETAG)
