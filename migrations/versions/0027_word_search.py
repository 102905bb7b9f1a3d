"""word search as an index look-up: a GIN index on the character bigrams of concern.content (PostgreSQL)

The inbox's word filter is `content ILIKE '%word%'`, which no B-tree serves. pg_trgm
cannot serve a two-character word (its LIKE support needs three characters in a row
between the wildcards), and Chinese words are mostly two characters. So: word_bigrams(t),
the distinct overlapping two-character pieces of lower(t) ('路灯坏了' gives {坏了, 灯坏, 路灯}),
and a GIN index on word_bigrams(content). A word of two or more characters is in a
text only if all its bigrams are, so `word_bigrams(content) @> word_bigrams(:word)`
finds the few candidate rows through the index and the unchanged ILIKE keeps the result
exact (services/word_search.py). An expression index: no column, no trigger; PostgreSQL
keeps it current on every insert and update.

SQLite has no such index: the word filter stays a scan there (see services/word_search.py).

On a table of 1,000,000 concerns the index takes about a minute to build and blocks
writes to concern meanwhile: run the upgrade in a quiet hour.

Revision ID: 0027_word_search
Revises: 0026_api_keys
Create Date: 2026-12-01 16:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0027_word_search'
down_revision = '0026_api_keys'
branch_labels = None
depends_on = None

BIGRAMS = """
CREATE OR REPLACE FUNCTION word_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(s.low, i, 2)), '{}'::text[])
    FROM (SELECT lower(t) AS low) AS s, generate_series(1, char_length(s.low) - 1) AS i
$$
"""


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(BIGRAMS)
    op.execute('CREATE INDEX ix_concern_content_bigrams ON concern USING gin (word_bigrams(content))')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP INDEX IF EXISTS ix_concern_content_bigrams')
    op.execute('DROP FUNCTION IF EXISTS word_bigrams(text)')
