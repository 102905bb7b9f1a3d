"""The inbox's word filter: "the concern's text contains this word, any case", as an index
look-up on PostgreSQL.

The filter's meaning is keyset.contains (ILIKE '%word%', % and _ taken as letters). On a
province's million concerns that is a scan, and no B-tree helps. pg_trgm's trigram index
does not either: its LIKE support needs three characters in a row, and most Chinese
words have two. Migration 0027 adds word_bigrams(t), the distinct overlapping
two-character pieces of lower(t) ('路灯坏了' gives {路灯, 灯坏, 坏了}), and a GIN index on
word_bigrams(content). A word of two or more characters occurs in a text only if every
one of its bigrams does, so

    word_bigrams(content) @> word_bigrams(:word) AND content ILIKE '%word%'

finds the candidates through the index and keeps the result exactly the ILIKE's: the
bigrams come from the same lower() as ILIKE's, in the database, so no case folding is
done twice in two ways. A one-character word has no bigram: it stays the scan (a single
character matches so much that reading the inbox newest first and filtering is the plan
anyway). A longer word is all its bigrams, then the ILIKE on the few rows found.

SQLite has no such index, and FTS5's trigram tokenizer has the same three-character
limit: there the filter is the ILIKE scan, which at the sizes SQLite is allowed
(devtools.scale.SQLITE_MAX_CONCERNS) takes milliseconds.
"""

import sqlalchemy as sa

from extensions import db
from models import Concern
from services import keyset


def _indexed() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def contains_word(word: str) -> sa.ColumnElement[bool]:
    """The concern's content contains `word` as typed, any case (keyset.contains), through
    the bigram index where there is one."""
    exact = keyset.contains(Concern.content, word)
    if len(word) < 2 or not _indexed():
        return exact
    has_bigrams = sa.func.word_bigrams(Concern.content).op("@>", is_comparison=True)(sa.func.word_bigrams(word))
    return sa.and_(has_bigrams, exact)
