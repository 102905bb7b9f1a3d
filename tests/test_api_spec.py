"""The API against its own OpenAPI document (schemathesis): every operation with generated
requests, valid and not, checked for no 5xx, answers that conform to the documented
schemas, status codes and content types; then the stateful run over the links
schemathesis infers between operations. The app is called as WSGI: no server.

Bounded (30 examples an operation) so that it stays within a minute or two in
`make test`, on SQLite and on PostgreSQL alike."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from models.enums import ConcernStatus, RegionLevel
from services import api_keys
from tests import factories

EXAMPLES = 30
STATEFUL_EXAMPLES = 15  # runs of up to 5 steps each
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def _fresh_context(app):
    """Each request in its own app context (and database session), as in production."""

    def wsgi(environ, start_response):
        with app.app_context():
            return list(app(environ, start_response))

    return wsgi


@pytest.fixture
def api_key(app, db):
    city = factories.region("411600", "周口市", RegionLevel.CITY)
    county = factories.region("411681", "项城市", RegionLevel.COUNTY, parent=city)
    station = factories.station(region=county, code="XCFS28")
    rep = factories.representative(stations=[station])
    unit = factories.unit(region_obj=county)
    factories.concern(station, tracking_code="K7M3QXP29D")
    factories.concern(station, status=ConcernStatus.ACCEPTED, assigned_rep=rep)
    factories.concern(station, status=ConcernStatus.DISPATCHED, assigned_rep=rep, unit=unit)
    made = api_keys.create(None, "规范测试", region=county, can_act=True, rate_per_minute=10_000)
    db.session.commit()
    return made.plain


# A request the schema allows may still be refused for what no schema can say: a cursor
# the API did not give (bad_cursor) or a period that ends before it starts (bad_period),
# both 400. Everything else the default expects of valid data (2xx, or 401/403/404/409/429).
CONFIG = {
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"],
        }
    }
}


@pytest.fixture
def api_schema(app, api_key):
    config = schemathesis.config.SchemathesisConfig.from_dict(CONFIG)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _fresh_context(app), config=config)


def test_every_operation_keeps_to_the_document(api_schema, api_key):
    headers = {"Authorization": f"Bearer {api_key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10  # every resource is in the document
    for operation in operations:

        @given(case=operation.as_strategy())
        @SETTINGS
        def run(case):
            case.call_and_validate(headers=headers)

        run()


def test_stateful_runs_keep_to_the_document(api_schema, api_key):
    machine = api_schema.as_state_machine()

    class Machine(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {api_key}"}}

    Machine.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=5, deadline=None,
                                  suppress_health_check=list(HealthCheck), derandomize=True))  # fmt: skip
