"""The inbox's word filter as an index look-up (services.word_search): the same concerns as
the plain ILIKE it replaces, on random Chinese text with punctuation, Latin letters in both
cases, digits and LIKE's own wildcards; and on PostgreSQL, a plan that reads the bigram index."""

import random

import pytest
import sqlalchemy as sa

from extensions import db as _db
from models import Concern
from models.enums import RegionLevel, Role
from services import inbox, keyset
from services.word_search import contains_word
from tests import factories

# A small alphabet, so that two-character words recur and a longer word's bigrams are often
# all present without the word itself (the candidates the ILIKE must weed out).
HAN = "路灯坏了小区门口井盖松积水希望"
OTHER = "，。！？、（）%_\\ -·" + "AaBbÉéßSs" + "0123456789"
ALPHABET = HAN * 3 + OTHER


def _text(rnd: random.Random) -> str:
    return "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(10, 40)))


def _words(rnd: random.Random, texts: list[str]) -> list[str]:
    words = ["路灯坏", "灯坏了", "井盖", "ab", "AB", "ÉS", "és", "%", "_", "\\", "1", "希望小区", "zz", "丢"]
    for _ in range(150):
        text = rnd.choice(texts)
        start = rnd.randrange(len(text))
        word = text[start : start + rnd.randint(1, 4)]
        word = "".join(c.swapcase() if rnd.random() < 0.5 else c for c in word)
        word = "".join(word.split())  # the filter splits the query on whitespace
        if word:
            words.append(word)
    for _ in range(50):
        words.append("".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(2, 3))).replace(" ", ""))
    return [w for w in words if w]


@pytest.fixture
def corpus(db):
    rnd = random.Random(17)
    county = factories.region(name="项城市", level=RegionLevel.COUNTY)
    station = factories.station(region=county)
    category = factories.category()
    texts = [_text(rnd) for _ in range(160)]
    # One text holds 路灯 and 灯坏 apart: its bigrams include all of 路灯坏's, the word itself not.
    texts.append("路灯不亮，灯坏了好久。路灯亮了又灯坏")
    for text in texts:
        factories.concern(station, category, content=text)
    staff = factories.user(Role.CONGRESS_STAFF, region=county)
    _db.session.commit()
    return {"texts": texts, "words": _words(rnd, texts), "staff": staff}


def _ids(clause) -> set[int]:
    return set(_db.session.scalars(sa.select(Concern.id).where(clause)))


def test_the_indexed_filter_finds_what_the_ilike_finds(corpus):
    differ = {}
    found_some = 0
    for word in corpus["words"]:
        scan, indexed = _ids(keyset.contains(Concern.content, word)), _ids(contains_word(word))
        if scan != indexed:
            differ[word] = (len(scan), len(indexed))
        found_some += bool(scan)
    assert differ == {}
    assert found_some > len(corpus["words"]) // 2  # the words do occur: the comparison is not of empty sets
    scan = _ids(keyset.contains(Concern.content, "路灯坏"))
    assert scan == _ids(contains_word("路灯坏")) and len(scan) < len(_ids(contains_word("路灯")))


def test_the_inbox_with_several_words_lists_what_the_scan_lists(corpus):
    rnd = random.Random(4)
    staff = corpus["staff"]
    for _ in range(25):
        words = rnd.sample(corpus["words"], rnd.randint(1, 3))
        q = " ".join(words)
        listed = [c.id for c in inbox.page(staff, inbox.InboxFilter(q=q), size=500).concerns]
        clauses = [keyset.contains(Concern.content, w) for w in q.split()]
        wanted = _db.session.scalars(
            sa.select(Concern.id).where(*clauses).order_by(Concern.created_at.desc(), Concern.id.desc())
        )
        assert listed == list(wanted), q


def test_postgresql_reads_the_bigram_index(corpus):
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("the bigram index is PostgreSQL's; SQLite scans (services.word_search)")
    query = sa.select(Concern.id).where(contains_word("井盖"))
    compiled = query.compile(_db.engine)
    with _db.engine.connect() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a table this small would be scanned
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
        conn.rollback()
    assert "ix_concern_content_bigrams" in plan
    # A one-character word has no bigram: it is the plain ILIKE.
    assert "word_bigrams" not in str(sa.select(Concern.id).where(contains_word("井")).compile(_db.engine))
